import Foundation
import KilnData
import KilnIR
import KilnPasses
import KilnRuntime
import KilnTraining
import Testing

/// `Model`: save and load as one safetensors file, predict on any number of examples.
struct ModelTests {
    /// A classifier with batch norm (running statistics as state) and dropout, batch 8.
    static let text = """
        graph bnclass {
          input x: f32[8, 16]
          input labels: i32[8]
          param w: f32[16, 6] = glorot_uniform
          param gamma: f32[6] = ones
          param beta: f32[6] = zeros
          state mean: f32[6] = zeros
          state var: f32[6] = ones
          param w2: f32[6, 3] = glorot_uniform
          param b2: f32[3] = zeros
          a = matmul(x, w)
          bm = reduce_mean(a, axes=[0])
          bv = reduce_mean(square(sub(a, bm)), axes=[0])
          m = if_training(bm, mean)
          v = if_training(bv, var)
          n = add(mul(mul(sub(a, m), rsqrt(add(v, 0.00001))), gamma), beta)
          h = dropout(relu(n), rate=0.2, seed=1)
          logits = add(matmul(h, w2), b2)
          loss = softmax_cross_entropy(logits, labels)
          output loss as loss
          output logits as logits
          new_mean = add(mul(mean, 0.9), mul(bm, 0.1))
          new_var = add(mul(var, 0.9), mul(bv, 0.1))
          update mean = new_mean
          update var = new_var
        }
        """

    static func trained() throws -> Trainer {
        let trainer = try Trainer(graph: try Parser.parse(text), optimizer: try .parse("adam:lr=0.05"), backend: .interpreter, seed: 3)
        let data = try ReportSupport.data(64)
        _ = try trainer.fit(data, epochs: 2, validation: .none, progress: .silent)
        return trainer
    }

    static func temporaryPath() -> String { NSTemporaryDirectory() + "kiln-model-\(UUID().uuidString).safetensors" }

    @Test("the inference graph drops the loss and labels, turns off dropout and batch statistics, adds probabilities")
    func inferenceGraph() throws {
        let g = try InferenceGraph().run(try Parser.parse(Self.text))
        #expect(g.inputs.map(\.name) == ["x"])
        #expect(g.outputs == ["logits", "probabilities"])
        #expect(g.outputRoles["probabilities"] == .probabilities)
        #expect(g.updates.isEmpty)
        #expect(!g.nodes.contains { [.dropout, .if_training, .softmax_cross_entropy].contains($0.op) })
        #expect(InferenceGraph.targetInputs(of: try Parser.parse(Self.text)) == ["labels"])
    }

    @Test("save, load and predict: the loaded model's probabilities equal the trainer's evaluation, on both backends, for 13 examples (not a multiple of the batch)")
    func roundTrip() throws {
        let trainer = try Self.trained()
        let test = try ReportSupport.data(13, seed: 77)
        let evaluation = try trainer.evaluate(test)
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Model(trainer, classNames: ["first", "second", "third"]).save(to: path)
        let x = try #require(test["x"])
        for backend in BackendKind.allCases {
            let model = try Model(contentsOf: path, backend: backend)
            #expect(model.classNames == ["first", "second", "third"])
            #expect(model.labelInputs == ["labels"])
            let p = try model.predict(x)
            #expect(p.shape.dims == [13, 3])
            let worst = zip(p.floats, evaluation.probabilities).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 1e-5, "\(backend): probabilities differ from the evaluation by \(worst)")
            #expect(try model.classify(x) == evaluation.predictions)
            // The running statistics were used, not changed.
            #expect(try #require(model.weights["mean"]).floats == (try #require(trainer.state["mean"])).floats)
        }
        // Another batch size gives the same answers (one example at a time).
        let single = try Model(contentsOf: path, backend: .interpreter, batchSize: 1)
        #expect(try single.classify(x) == evaluation.predictions)
        // The weights are a plain safetensors file: params and running statistics, no optimiser state.
        let (tensors, metadata) = try SafetensorsFormat.read(path: path)
        #expect(Set(tensors.keys) == ["w", "gamma", "beta", "mean", "var", "w2", "b2"])
        #expect(metadata["kiln.format"] == Model.format)
    }

    @Test("predict names what is wrong: a label input, a wrong example shape, a checkpoint that is not a model")
    func errors() throws {
        let trainer = try Trainer(graph: try Parser.parse(Self.text), optimizer: try .parse("sgd"), backend: .interpreter)
        let model = try Model(trainer, backend: .interpreter)
        let x = Tensor([2, 16], floats: Array(repeating: 0.5, count: 32))
        #expect(throws: Diagnostic("model 'bnclass' has no input 'labels' (a label input: prediction does not need it); inputs: x")) {
            try model.predictAll(["x": x, "labels": Tensor([2], ints: [0, 1])])
        }
        #expect(throws: Diagnostic("model 'bnclass': input 'x' must be f32[n, 16] with n ≥ 1, got f32[2, 15]")) {
            try model.predict(Tensor([2, 15], floats: Array(repeating: 0, count: 30)))
        }
        #expect(throws: Diagnostic("model 'bnclass': 4 class names for 3 classes")) {
            try Model(trainer, classNames: ["a", "b", "c", "d"])
        }
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try trainer.saveCheckpoint(to: path)
        #expect(throws: Diagnostic("'\(path)' is not a saved Kiln model (no kiln.format in its metadata; a checkpoint? load it with Trainer.loadCheckpoint)")) {
            try Model(contentsOf: path)
        }
        // A saved model whose running variance was lost is refused, naming the tensor.
        try model.save(to: path)
        var (tensors, metadata) = try SafetensorsFormat.read(path: path)
        tensors["var"] = nil
        try SafetensorsFormat.write(tensors, metadata: metadata, to: path)
        #expect(throws: Diagnostic("'\(path)': model 'bnclass': no value for state 'var' f32[6]")) { try Model(contentsOf: path) }
        metadata["kiln.format"] = "kiln-model/9"
        try SafetensorsFormat.write(tensors, metadata: metadata, to: path)
        #expect(throws: Diagnostic("'\(path)': kiln.format 'kiln-model/9' is not 'kiln-model/1'")) { try Model(contentsOf: path) }
    }
}
