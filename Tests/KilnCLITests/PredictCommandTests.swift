import Foundation
import KilnIR
import KilnRuntime
import KilnTraining
import Testing

/// `kiln predict` end to end: a model saved from Swift, predicted on by the built binary.
@Suite(.serialized)
struct PredictCommandTests {
    static let graph = """
        graph tiny {
          input x: f32[4, 3]
          input labels: i32[4]
          param w: f32[3, 2] = glorot_uniform
          param gamma: f32[2] = ones
          state mean: f32[2] = zeros
          a = matmul(x, w)
          bm = reduce_mean(a, axes=[0])
          m = if_training(bm, mean)
          logits = mul(sub(a, m), gamma)
          loss = softmax_cross_entropy(logits, labels)
          output loss as loss
          output logits as logits
          new_mean = add(mul(mean, 0.5), mul(bm, 0.5))
          update mean = new_mean
        }
        """

    /// A model whose running mean is not zero, saved in a temporary directory, and 5 examples.
    func setUp() throws -> (directory: String, model: String, input: String, expected: Tensor) {
        let directory = makeTemporaryDirectory()
        let trainer = try Trainer(graph: try Parser.parse(Self.graph), optimizer: try .parse("sgd:lr=0.1"), backend: .interpreter, seed: 4)
        let x = Tensor([4, 3], floats: [1, 2, 3, -1, 0, 2, 0.5, 0.5, -2, 3, 1, 0])
        try trainer.step(["x": x, "labels": Tensor([4], ints: [0, 1, 1, 0])])
        let model = try Model(trainer, classNames: ["no", "yes"], backend: .interpreter)
        let path = directory + "/tiny.safetensors"
        try model.save(to: path)
        let examples = Tensor([5, 3], floats: [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, -2, 0.5, 3])
        try NumPyFormat.write(examples, to: directory + "/x.npy")
        return (directory, path, directory + "/x.npy", try model.predict(examples))
    }

    @Test("writes the probabilities of every example, equal to Model.predict, and prints class names")
    func predicts() throws {
        let (directory, model, input, expected) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for backend in ["jit", "interp"] {
            let r = try runKiln(["predict", model, "--input", "x=\(input)", "-o", directory + "/p.npy", "--backend", backend, "--show", "2"])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out.hasPrefix("logits: f32[5, 2]\nprobabilities: f32[5, 2]\n0: class "))
            #expect(r.out.contains("… 3 more"))
            #expect(r.out.contains(" yes (p = ") || r.out.contains(" no (p = "))
            let p = try NumPyFormat.read(path: directory + "/p.npy")
            #expect(p.type == expected.type)
            let worst = zip(p.floats, expected.floats).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 1e-6, "\(backend): \(worst)")
        }
        // The single input may be given without its name; --output-dir writes every output.
        let r = try runKiln(["predict", model, "--input", input, "--output-dir", directory + "/all", "--show", "0"])
        #expect(r.status == 0, "\(r.err)")
        #expect(FileManager.default.fileExists(atPath: directory + "/all/logits.npy"))
        #expect(FileManager.default.fileExists(atPath: directory + "/all/probabilities.npy"))
    }

    @Test("names a label input, a wrong shape, a checkpoint, and refuses -o over the model")
    func errors() throws {
        let (directory, model, input, _) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try NumPyFormat.write(Tensor([5], ints: [0, 1, 0, 1, 0]), to: directory + "/labels.npy")
        var r = try runKiln(["predict", model, "--input", "x=\(input)", "--input", "labels=\(directory)/labels.npy"])
        #expect(r.status == 1)
        #expect(r.err == "error: model 'tiny' has no input 'labels' (a label input: prediction does not need it); inputs: x\n")
        try NumPyFormat.write(Tensor([2, 2], floats: [1, 2, 3, 4]), to: directory + "/bad.npy")
        r = try runKiln(["predict", model, "--input", "x=\(directory)/bad.npy"])
        #expect(r.err == "error: model 'tiny': input 'x' must be f32[n, 3] with n ≥ 1, got f32[2, 2]\n")
        r = try runKiln(["predict", model, "--input", "x=\(input)", "-o", model])
        #expect(r.status == 2)
        #expect(r.err.contains("--output '\(model)' is the input '\(model)'"))
        try SafetensorsFormat.write(["w": Tensor([3, 2], floats: [1, 2, 3, 4, 5, 6])], to: directory + "/ckpt.safetensors")
        r = try runKiln(["predict", directory + "/ckpt.safetensors", "--input", "x=\(input)"])
        #expect(r.err.contains("is not a saved Kiln model"))
        r = try runKiln(["predict", model, "--input", "x=\(input)", "--backend", "gpu"])
        #expect(r.status == 2)
        #expect(r.err.contains("unknown backend 'gpu' (interp or jit)"))
    }
}
