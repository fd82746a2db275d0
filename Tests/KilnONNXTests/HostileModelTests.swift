import Foundation
import Testing
@testable import KilnONNX

/// Hostile and invalid ONNX models (issue 23, items 5, 6 and 10), built in the test process:
/// each is a located error (`m.onnx: node …`), never a trap, an allocation abort or a silent
/// acceptance.
@Suite struct HostileModelTests {
    static let huge = 1 << 62

    /// x: f32[1, 1, 8, 8] → op(x, W) → y.
    static func window(_ op: String, _ attributes: [String: Any], weights: [Int64] = [1, 1, 3, 3]) -> ModelBuilder {
        var m = ModelBuilder()
        m.input("x", [1, 1, 8, 8])
        var inputs = ["x"]
        if op == "Conv" || op == "ConvTranspose" {
            m.floats("W", Array(repeating: 1, count: Int(weights.reduce(1, *))), dims: weights)
            inputs.append("W")
        }
        m.node(op, inputs, ["y"], name: "n", attributes)
        m.output("y")
        return m
    }

    @Test("window attributes of 2^62 are refused", arguments: [
        ("Conv", ["pads": [huge, 0, 0, 0]], "pads"),
        ("Conv", ["dilations": [huge, 1]], "dilations"),
        ("Conv", ["strides": [huge, 1]], "strides"),
        ("MaxPool", ["kernel_shape": [2, 2], "pads": [0, huge, 0, 0]], "pads"),
        ("MaxPool", ["kernel_shape": [2, 2], "dilations": [1, huge]], "dilations"),
        ("AveragePool", ["kernel_shape": [2, 2], "pads": [huge, huge, huge, huge]], "pads"),
        ("AveragePool", ["kernel_shape": [huge, 2]], "kernel_shape"),
        ("ConvTranspose", ["strides": [huge, huge]], "strides"),
    ] as [(String, [String: [Int]], String)])
    func hugeWindows(_ op: String, _ attributes: [String: [Int]], _ attribute: String) {
        let message = Self.window(op, attributes).importMessage()
        #expect(message?.hasPrefix("m.onnx: node 'n' (\(op), opset 17): \(attribute)") == true, "\(message ?? "imported")")
    }

    @Test("invalid window attributes that onnxruntime refuses are refused", arguments: [
        ("ConvTranspose", ["strides": [0, 0]], "strides [0, 0]"),
        ("ConvTranspose", ["output_padding": [-1, 0]], "output_padding [-1, 0]"),
        ("ConvTranspose", ["strides": [2, 2], "output_padding": [2, 0]], "output_padding [2, 0] must be smaller than strides"),
        ("ConvTranspose", ["kernel_shape": [2, 2]], "kernel_shape [2, 2] disagrees with W"),
        ("Conv", ["kernel_shape": [2, 2]], "kernel_shape [2, 2] disagrees with W"),
        ("Conv", ["kernel_shape": [0, 0]], "kernel_shape [0, 0] disagrees with W"),
        ("MaxPool", ["kernel_shape": [0, 2]], "need 2 positive entries"),
        ("MaxPool", ["kernel_shape": [-2, 2]], "need 2 positive entries"),
    ] as [(String, [String: [Int]], String)])
    func invalidWindows(_ op: String, _ attributes: [String: [Int]], _ expected: String) {
        let message = Self.window(op, attributes).importMessage()
        #expect(message?.contains(expected) == true, "\(message ?? "imported")")
    }

    @Test("Reshape to [2^32, 2^32] is an error, not an overflow trap")
    func reshapeOverflow() {
        var m = ModelBuilder()
        m.input("x", [4])
        m.ints("s", [1 << 32, 1 << 32])
        m.node("Reshape", ["x", "s"], ["y"], name: "r")
        m.output("y")
        #expect(m.importMessage()?.hasPrefix("m.onnx: node 'r' (Reshape, opset 17): cannot reshape [4] (4 elements) to [4294967296, 4294967296]") == true)
    }

    @Test("Hardmax, Gather, Split, Concat of a rank-0 value are errors", arguments: [
        ("Hardmax", [String: Any]()), ("Gather", ["axis": 0]), ("Split", ["axis": 0]), ("Concat", ["axis": 0]),
    ] as [(String, [String: Any])])
    func rankZero(_ op: String, _ attributes: [String: Any]) {
        var m = ModelBuilder()
        m.input("x", [])
        m.ints("i", [0], dims: [])
        m.node(op, op == "Gather" ? ["x", "i"] : op == "Concat" ? ["x", "x"] : ["x"], op == "Split" ? ["a", "b"] : ["y"], name: "n", attributes)
        m.output(op == "Split" ? "a" : "y")
        #expect(m.importMessage()?.contains("axis") == true, "\(m.importMessage() ?? "imported")")
    }

    @Test("folding Concat or Gather of scalar constants is an error")
    func foldScalars() {
        for op in ["Concat", "Gather"] {
            var m = ModelBuilder()
            m.ints("a", [3], dims: [])
            m.ints("i", [0], dims: [])
            m.node(op, op == "Gather" ? ["a", "i"] : ["a", "a"], ["y"], name: "n", ["axis": 0])
            m.output("y")
            #expect(m.importMessage()?.contains("axis 0 is out of range for rank 0") == true, "\(op): \(m.importMessage() ?? "imported")")
        }
    }

    @Test("constant folding has a total budget", arguments: ["expand", "negative", "outer", "ranges"])
    func foldingBudget(_ kind: String) {
        var m = ModelBuilder()
        switch kind {
        case "expand":
            m.ints("one", [1]); m.ints("s", [1 << 20, 1 << 20])
            m.node("Expand", ["one", "s"], ["y"], name: "n")
        case "negative":
            m.ints("one", [1]); m.ints("s", [-3])
            m.node("Expand", ["one", "s"], ["y"], name: "n")
        case "outer":
            m.ints("a", Array(repeating: 1, count: 65536), dims: [65536, 1]); m.ints("b", Array(repeating: 2, count: 65536), dims: [1, 65536])
            m.node("Add", ["a", "b"], ["y"], name: "n")
        default:
            // Each Range is 2^20 values, under any per-node cap; together they pass the budget.
            m.ints("start", [0], dims: []); m.ints("limit", [1 << 20], dims: []); m.ints("delta", [1], dims: [])
            for k in 0..<40 { m.node("Range", ["start", "limit", "delta"], ["r\(k)"], name: "n") }
            m.node("Concat", (0..<40).map { "r\($0)" }, ["y"], ["axis": 0])
        }
        m.output("y")
        let message = m.importMessage()
        let expected = kind == "negative" ? "Expand: shape [-3] has a negative dimension" : "would exceed the budget of 16777216 elements"
        #expect(message?.hasPrefix("m.onnx: node 'n'") == true && message?.contains(expected) == true, "\(message ?? "imported")")
    }

    @Test("Slice and Gather of a 2^30 dimension, Split into 2^40 outputs are errors")
    func hugeIndexPlans() {
        for op in ["Slice", "Gather", "Split"] {
            var m = ModelBuilder()
            m.input("x", [1 << 30])
            m.ints("a", [0]); m.ints("b", [2])
            let inputs = op == "Slice" ? ["x", "a", "b"] : op == "Gather" ? ["x", "a"] : ["x"]
            m.node(op, inputs, op == "Split" ? ["p", "q"] : ["y"], name: "n", op == "Split" ? ["num_outputs": 1 << 40] : [:])
            m.opset = 18
            m.output(op == "Split" ? "p" : "y")
            #expect(m.importMessage()?.hasPrefix("m.onnx: node 'n'") == true, "\(op): \(m.importMessage() ?? "imported")")
        }
    }

    @Test("invalid graphs onnxruntime refuses are refused")
    func invalidGraphs() {
        var twice = ModelBuilder()
        twice.input("x", [2])
        twice.node("Relu", ["x"], ["y"], name: "first")
        twice.node("Neg", ["x"], ["y"], name: "second")
        twice.output("y")
        #expect(twice.importMessage() == "m.onnx: node 'second' (Neg, opset 17): output 'y' is already defined (by an earlier node, an input or an initializer)")

        var gather = ModelBuilder()
        gather.input("x", [2, 3])
        gather.ints("i", [0, 5, 1, 2, 0, 1], dims: [2, 3])
        gather.node("GatherElements", ["x", "i"], ["y"], name: "g", ["axis": 1])
        gather.output("y")
        #expect(gather.importMessage()?.contains("index 5 is out of range for axis 1 of size 3") == true)

        var slice = ModelBuilder()
        slice.input("x", [4, 4])
        slice.ints("s", [0, 1]); slice.ints("e", [2, 3]); slice.ints("a", [0, 0])
        slice.node("Slice", ["x", "s", "e", "a"], ["y"], name: "s")
        slice.output("y")
        #expect(slice.importMessage()?.contains("repeat an axis") == true)
    }

    @Test("graph inputs: declared twice, dimensions 0 or −5, more than 2^40 elements")
    func inputs() {
        var twice = ModelBuilder()
        twice.input("x", [2]); twice.input("x", [2])
        twice.node("Relu", ["x"], ["y"])
        twice.output("y")
        #expect(twice.importMessage() == "m.onnx: input 'x' is declared twice")
        for (dims, expected) in [([2, 0] as [Int64], "m.onnx: input 'x' dimension 1 is 0; Kiln needs every dimension > 0"),
                                 ([-5], "m.onnx: input 'x' dimension 0 is -5; Kiln needs every dimension > 0"),
                                 ([(1 << 40) + 1, 2], "m.onnx: input 'x' of shape [1099511627777, 2] has more than 2^40 elements, Kiln's limit for one tensor")] {
            var m = ModelBuilder()
            m.input("x", dims)
            m.node("Relu", ["x"], ["y"])
            m.output("y")
            #expect(m.importMessage() == expected)
        }
    }

    @Test("Range over float initializers says why it cannot import")
    func rangeOfFloats() {
        var m = ModelBuilder()
        m.floats("s", [0], dims: []); m.floats("l", [4], dims: []); m.floats("d", [1], dims: [])
        m.node("Range", ["s", "l", "d"], ["y"], name: "r")
        m.output("y")
        #expect(m.importMessage()?.contains("Range is imported only when folded at import time, and input 's' is a float initializer") == true)
    }

    @Test("Pad, Tile and Expand with sizes of 2^62 are errors", arguments: ["Pad", "Tile", "Expand", "ConstantOfShape"])
    func hugeSizes(_ op: String) {
        var m = ModelBuilder()
        m.input("x", [2, 2])
        switch op {
        case "Pad": m.ints("p", [0, 0, Int64(Self.huge), 0])
        case "Tile": m.ints("p", [Int64(Self.huge), 2])
        case "ConstantOfShape": m.ints("p", [Int64(Self.huge), 4])
        default: m.ints("p", [Int64(Self.huge), 2])
        }
        m.node(op, op == "ConstantOfShape" ? ["p"] : ["x", "p"], ["y"], name: "n")
        m.output("y")
        #expect(m.importMessage()?.hasPrefix("m.onnx: node 'n'") == true, "\(op): \(m.importMessage() ?? "imported")")
    }

    @Test("Split sizes of 2^62 are an error, not an overflow of their sum (found by make fuzz)")
    func splitSizes() {
        var m = ModelBuilder()
        m.input("x", [4])
        // As an attribute: its int64s reach the sizes as they are (an input's go through doubles).
        m.node("Split", ["x"], ["a", "b"], name: "n", ["split": [Self.huge, Self.huge]])
        m.output("a")
        let message = m.importMessage()
        #expect(message?.hasPrefix("m.onnx: node 'n' (Split, opset 17): split sizes") == true, "\(message ?? "imported")")
    }

    @Test("Gather with an empty index list is an error, not an index past the end (found by make fuzz)")
    func emptyGather() {
        var m = ModelBuilder()
        m.input("x", [4, 2])
        // An empty initializer is refused on its own; a shape vector sliced to nothing is folded.
        m.ints("b", [1]); m.ints("e", [1])
        m.node("Shape", ["x"], ["s"])
        m.node("Slice", ["s", "b", "e"], ["i"])
        m.node("Gather", ["x", "i"], ["y"], name: "n")
        m.output("y")
        let message = m.importMessage()
        #expect(message?.hasPrefix("m.onnx: node 'n' (Gather, opset 17): ") == true, "\(message ?? "imported")")
    }

    @Test("the issue-25 compositions refuse sizes that would build huge import-time tables or overflow")
    func compositionLimits() {
        var attention = ModelBuilder()
        attention.opset = 23
        attention.input("Q", [1, 1, 8192, 1])
        attention.input("K", [1, 1, 4096, 1])
        attention.input("V", [1, 1, 4096, 1])
        attention.node("Attention", ["Q", "K", "V"], ["y"], name: "n", ["is_causal": 1])
        attention.output("y")
        #expect(attention.importMessage() == "m.onnx: node 'n' (Attention, opset 23): 8192 queries × 4096 keys is beyond the 16777216 mask values Kiln builds at import")

        var quantize = ModelBuilder()
        quantize.opset = 21
        quantize.input("x", [2, 4])
        quantize.floats("s", [1, 1], dims: [2, 1])
        quantize.node("QuantizeLinear", ["x", "s"], ["y"], name: "n", ["axis": 1, "block_size": Self.huge])
        quantize.output("y")
        #expect(quantize.importMessage()?.hasPrefix("m.onnx: node 'n' (QuantizeLinear, opset 21): block_size") == true)

        var pad = ModelBuilder()
        pad.input("x", [2, 2])
        pad.ints("p", [0, Int64(Self.huge), 0, 0])
        pad.node("Pad", ["x", "p"], ["y"], name: "n", ["mode": "reflect"])
        pad.output("y")
        #expect(pad.importMessage()?.hasPrefix("m.onnx: node 'n' (Pad, opset 17): pads") == true)
    }
}
