import Foundation
import KilnCheck
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// Resize imported as taps: values for hand-computed cases, refusals, and the gradient (Resize
/// is trained in UNets) by finite differences. ONNX's own cases and PyTorch exports are checked
/// on both backends by Tests/ONNX/frozen_cases.py.
@Suite struct ResizeTests {
    /// A model resizing the float initializer `w` (a param, so it has a gradient) of `dims`, then
    /// Σ (resized · c) with a fixed non-uniform c: a scalar loss.
    static func model(_ dims: [Int64], scales: [Float], _ attributes: [String: Any]) -> ModelBuilder {
        var m = ModelBuilder()
        m.opset = 18
        m.input("x", [])
        let count = Int(dims.reduce(1, *))
        m.floats("w", (0..<count).map { Float($0 % 7) * 0.3 - 0.8 }, dims: dims)
        m.floats("scales", scales, dims: [Int64(scales.count)])
        m.node("Resize", ["w", "", "scales"], ["r"], attributes)
        let out = zip(dims, scales).map { Int64((Float($0) * $1).rounded(.towardZero)) }
        let outCount = Int(out.reduce(1, *))
        m.floats("c", (0..<outCount).map { Float(($0 * 5) % 11) * 0.1 - 0.4 }, dims: out)
        m.node("Mul", ["r", "c"], ["p"])
        m.node("ReduceSum", ["p"], ["s"], ["keepdims": 0])
        m.node("Mul", ["s", "x"], ["y"])
        m.output("y")
        return m
    }

    @Test("upsampling 2x: nearest repeats, linear (align_corners) interpolates")
    func values() throws {
        var m = ModelBuilder()
        m.opset = 13
        m.input("x", [1, 1, 1, 3])
        m.constant("scales", [1, 1, 1, 2], dims: [4])
        m.node("Resize", ["x", "", "scales"], ["y"], ["mode": "nearest"])
        m.output("y")
        let (y, _) = try EvaluatedFoldingTests.run(m, ["x": Tensor([1, 1, 1, 3], floats: [1, 2, 4])])
        #expect(y == [1, 1, 2, 2, 4, 4])
        var l = ModelBuilder()
        l.opset = 13
        l.input("x", [1, 1, 1, 3])
        l.ints("sizes", [1, 1, 1, 5])
        l.node("Resize", ["x", "", "", "sizes"], ["y"], ["mode": "linear", "coordinate_transformation_mode": "align_corners"])
        l.output("y")
        let (z, _) = try EvaluatedFoldingTests.run(l, ["x": Tensor([1, 1, 1, 3], floats: [1, 2, 4])])
        #expect(z == [1, 1.5, 2, 3, 4])
    }

    @Test("scales that depend on a graph input, and unknown modes, are clear errors")
    func refusals() throws {
        var m = ModelBuilder()
        m.input("x", [1, 1, 2, 2])
        m.input("s", [4])
        m.node("Resize", ["x", "", "s"], ["y"])
        m.output("y")
        #expect(m.importMessage()?.contains("scales (input 's') must be known at import time") == true)
        var b = ModelBuilder()
        b.input("x", [1, 1, 2, 2])
        b.constant("s", [1, 1, 2, 2], dims: [4])
        b.node("Resize", ["x", "", "s"], ["y"], ["mode": "lanczos"])
        b.output("y")
        #expect(b.importMessage()?.contains("mode 'lanczos' is not supported") == true)
    }

    @Test("the gradient of Resize matches finite differences", arguments: [
        ["mode": "linear"] as [String: Any],
        ["mode": "linear", "coordinate_transformation_mode": "align_corners"],
        ["mode": "cubic", "coordinate_transformation_mode": "pytorch_half_pixel"],
        ["mode": "nearest", "nearest_mode": "round_prefer_ceil"],
        ["mode": "linear", "antialias": 1],
    ])
    func gradient(_ attributes: [String: Any]) throws {
        let down = attributes["antialias"] != nil
        let m = Self.model([1, 2, 3, 4], scales: down ? [1, 1, 0.67, 0.5] : [1, 1, 2, 1.5], attributes)
        let result = try ONNXImporter.importModel(bytes: try m.bytes(), source: "m.onnx", evaluator: InterpreterEvaluator())
        let graph = try ShapeInference().run(result.graph)
        let loss = try #require(result.outputs.first).kiln
        let x = Tensor([], floats: [1])
        let good = try GradientCheck(loss: loss, samples: 24).run(graph, inputs: [result.inputs[0].kiln: x], state: result.tensors)
        let w = try #require(good.first { $0.param == "w" })
        #expect(w.relativeError < 1e-2, "\(attributes): \(w)")
        // The check can fail: a broken gather adjoint is seen.
        let bad = try GradientCheck(loss: loss, samples: 24, breaking: .gather).run(graph, inputs: [result.inputs[0].kiln: x], state: result.tensors)
        #expect((bad.first { $0.param == "w" }?.relativeError ?? 0) > 0.1, "\(attributes)")
    }
}
