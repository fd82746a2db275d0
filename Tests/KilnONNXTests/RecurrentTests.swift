import Foundation
import KilnCheck
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// ONNX RNN/GRU/LSTM: refusals, and the gradient of the unrolled cells (an imported recurrent
/// net is fine-tuned) by finite differences. Values against onnxruntime, for every direction,
/// layout, activation and padded batches, are checked by Tests/ONNX/recurrent_cases.py.
@Suite struct RecurrentTests {
    static func model(_ op: String, gates: Int, hidden: Int = 3, _ attributes: [String: Any] = [:], lengths: [Int64]? = nil) -> ModelBuilder {
        var m = ModelBuilder()
        m.opset = 14
        m.input("x", [4, 2, 3])
        let dirs = attributes["direction"] as? String == "bidirectional" ? 2 : 1
        func values(_ n: Int, _ k: Int) -> [Float] { (0..<n).map { Float(($0 * k) % 13) * 0.07 - 0.4 } }
        m.floats("W", values(dirs * gates * hidden * 3, 5), dims: [Int64(dirs), Int64(gates * hidden), 3])
        m.floats("R", values(dirs * gates * hidden * hidden, 7), dims: [Int64(dirs), Int64(gates * hidden), Int64(hidden)])
        m.floats("B", values(dirs * 2 * gates * hidden, 3), dims: [Int64(dirs), Int64(2 * gates * hidden)])
        var inputs = ["x", "W", "R", "B"]
        if let lengths { m.ints("L", lengths); inputs.append("L") }
        var attrs = attributes
        attrs["hidden_size"] = hidden
        m.node(op, inputs, ["Y", "Y_h"], attrs)
        m.node("ReduceSum", ["Y"], ["y"], ["keepdims": 0])
        m.output("y")
        return m
    }

    @Test("bad sequence_lens, activations and weight shapes are located errors")
    func refusals() throws {
        #expect(Self.model("LSTM", gates: 4, lengths: [4, 9]).importMessage()?.contains("sequence_lens [4, 9] must hold 2 lengths from 1 to 4") == true)
        #expect(Self.model("GRU", gates: 3, ["activations": "Gelu"]).importMessage() != nil)
        let unknown = Self.model("RNN", gates: 1, ["activations": ["Swish"] as [String]])
        #expect(unknown.importMessage()?.contains("(RNN, opset 14): activation 'Swish' is not supported") == true)
        #expect(Self.model("GRU", gates: 4).importMessage()?.contains("do not fit") == true)
    }

    @Test("gradients of the unrolled cells match finite differences", arguments: [
        ("LSTM", 4, ["direction": "bidirectional"] as [String: Any]),
        ("GRU", 3, ["linear_before_reset": 1]),
        ("GRU", 3, ["direction": "reverse"]),
        ("RNN", 1, [:]),
    ])
    func gradient(_ op: String, _ gates: Int, _ attributes: [String: Any]) throws {
        let m = Self.model(op, gates: gates, attributes, lengths: op == "GRU" ? [4, 2] : nil)
        let result = try ONNXImporter.importModel(bytes: try m.bytes(), source: "m.onnx", evaluator: InterpreterEvaluator())
        let graph = try ShapeInference().run(result.graph)
        let x = Tensor([4, 2, 3], floats: (0..<24).map { Float(($0 * 11) % 17) * 0.1 - 0.8 })
        let loss = try #require(result.outputs.first).kiln
        let checks = try GradientCheck(loss: loss, samples: 24).run(graph, inputs: [result.inputs[0].kiln: x], state: result.tensors)
        #expect(Set(checks.map(\.param)) == ["W", "R", "B"])
        for c in checks { #expect(c.relativeError < 1e-2, "\(op) \(attributes): \(c)") }
        let broken = try GradientCheck(loss: loss, samples: 24, breaking: .matmul).run(graph, inputs: [result.inputs[0].kiln: x], state: result.tensors)
        #expect(broken.contains { $0.relativeError > 0.1 })
    }
}
