import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// Kiln → ONNX → Kiln for the zoo's inference graphs: the re-imported graph computes the same
/// outputs as the original on the interpreter.
@Suite struct RoundTripTests {
    static let zoo = ["perceptron", "xor_mlp", "linear_regression", "mlp", "lenet5", "lenet5_dropout", "rnn", "lstm",
                      "autoencoder", "transformer", "bn_cnn", "denoising_autoencoder", "gru", "maxout_mlp", "perceptron_fashion"]

    @Test(arguments: zoo)
    func roundTrip(name: String) throws {
        let text = try String(contentsOf: TestModels.graphs.appendingPathComponent(name + ".kiln"), encoding: .utf8)
        let original = try ShapeInference().run(try EvaluationMode().run(try Parser.parse(text, file: name + ".kiln")))
        var params = initialState(for: original, seed: 7)
        let bytes = try ONNXExporter.export(original, params: params)
        let imported = try ONNXImporter.importModel(bytes: bytes, source: name + ".onnx", evaluator: InterpreterEvaluator())
        let back = try ShapeInference().run(imported.graph)
        #expect(back.inputs.map(\.name) == original.inputs.map(\.name))
        #expect(back.outputs == original.outputs)

        var inputs: [String: Tensor] = [:]
        // Seeded per model and input, so a failure reproduces with the same values.
        for input in original.inputs {
            let n = input.type.elementCount, key = KilnRandom.key(seed: KilnRandom.hash(name), step: KilnRandom.hash(input.name))
            inputs[input.name] = input.type.dtype == .f32
                ? Tensor(input.type.shape, floats: (0..<n).map { KilnRandom.uniform(key: key, index: UInt64($0)) })
                : Tensor(input.type.shape, ints: (0..<n).map { KilnRandom.uniform(key: key, index: UInt64($0)) < 0.5 ? 0 : 1 })
        }
        let expected = try Interpreter(graph: original).run(inputs: inputs, state: &params, step: 0)
        var state = imported.tensors
        let got = try Interpreter(graph: back).run(inputs: inputs, state: &state, step: 0)
        for name in original.outputs {
            let e = try #require(expected[name]).floats, g = try #require(got[name]).floats
            let worst = zip(e, g).map { abs($0 - $1) / max(abs($0), 1) }.max() ?? 0
            #expect(worst <= 1e-5, "\(name): relative error \(worst)")
        }
    }

    /// ONNX → Kiln → ONNX → Kiln for ops whose import uses Kiln's gradient kernels: ConvTranspose
    /// (conv2d_grad_input, exported as ConvTranspose) and ScatterElements with run-time indices
    /// (the scatter-add gather_grad, exported as ScatterND with reduction add).
    @Test func importedTransposedConvolutionAndScatterExportBack() throws {
        var conv = ModelBuilder()
        conv.input("x", [1, 2, 3, 3])
        conv.floats("W", (0..<36).map { Float($0 % 7) - 3 }, dims: [2, 2, 3, 3])
        conv.node("ConvTranspose", ["x", "W"], ["y"], ["strides": [2, 2], "pads": [1, 0, 1, 0], "output_padding": [1, 1]])
        conv.output("y")
        var scatter = ModelBuilder()
        scatter.opset = 18
        scatter.input("x", [2, 3])
        scatter.input("idx", [2, 2], elemType: ONNXDataType.int64)
        scatter.input("upd", [2, 2])
        scatter.node("ScatterElements", ["x", "idx", "upd"], ["y"], ["axis": 1, "reduction": "add"])
        scatter.output("y")
        let feeds: [[String: Tensor]] = [["x": Tensor([1, 2, 3, 3], floats: (0..<18).map { Float($0) / 4 - 2 })],
                                         ["x": Tensor([2, 3], floats: [1, 2, 3, 4, 5, 6]), "idx": Tensor([2, 2], ints: [2, -3, 1, 1]),
                                          "upd": Tensor([2, 2], floats: [10, 20, 30, 40])]]
        for (model, inputs) in zip([conv, scatter], feeds) {
            let first = try ONNXImporter.importModel(bytes: try model.bytes(), source: "m.onnx", evaluator: InterpreterEvaluator())
            let graph = try ShapeInference().run(first.graph)
            var state = first.tensors
            let expected = try #require(try Interpreter(graph: graph).run(inputs: inputs, state: &state, step: 0)["y"]).floats
            let exported = try ONNXExporter.export(graph, params: first.tensors)
            let again = try ONNXImporter.importModel(bytes: exported, source: "again.onnx", evaluator: InterpreterEvaluator())
            var againState = again.tensors
            let got = try #require(try Interpreter(graph: try ShapeInference().run(again.graph)).run(inputs: inputs, state: &againState, step: 0)["y"]).floats
            #expect(got == expected)
            #expect(!again.graph.nodes.contains { $0.op == .conv2d_grad_filter })
        }
    }

    @Test func randomOpsAreNotExported() throws {
        let text = try String(contentsOf: TestModels.graphs.appendingPathComponent("vae.kiln"), encoding: .utf8)
        let g = try ShapeInference().run(try Parser.parse(text, file: "vae.kiln"))
        let message = TestModels.message { _ = try ONNXExporter.export(g, params: initialState(for: g, seed: 0)) }
        #expect(message?.contains("random_normal") == true)
        // The node's location names the file; the message names it once.
        #expect(message?.hasPrefix("vae.kiln:") == true && message?.components(separatedBy: "vae.kiln").count == 2, "\(message ?? "")")
    }

    @Test func trainingStepsAreNotExported() throws {
        let text = try String(contentsOf: TestModels.graphs.appendingPathComponent("mlp.kiln"), encoding: .utf8)
        let g = try ShapeInference().run(try TrainingStep(loss: "loss", optimizer: try .parse("sgd:lr=0.1")).run(try Parser.parse(text, file: "mlp.kiln")))
        let message = TestModels.message { _ = try ONNXExporter.export(g, params: initialState(for: g, seed: 0)) }
        #expect(message?.contains("training step") == true)
    }
}
