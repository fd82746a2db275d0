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
        let imported = try ONNXImporter.importModel(bytes: bytes, source: name + ".onnx")
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
