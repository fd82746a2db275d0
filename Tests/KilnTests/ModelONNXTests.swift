import Foundation
import Kiln
import Testing

/// `Model.exportONNX` and `Model(onnx:)`: the inference graph with its weights, through ONNX and back.
struct ModelONNXTests {
    static let text = """
        graph bnclass {
          input x: f32[4, 6]
          input labels: i32[4]
          param w: f32[6, 5] = glorot_uniform
          param gamma: f32[5] = ones
          param beta: f32[5] = zeros
          state mean: f32[5] = zeros
          state var: f32[5] = ones
          param w2: f32[5, 3] = glorot_uniform
          a = matmul(x, w)
          bm = reduce_mean(a, axes=[0])
          bv = reduce_mean(square(sub(a, bm)), axes=[0])
          n = add(mul(mul(sub(a, if_training(bm, mean)), rsqrt(add(if_training(bv, var), 0.00001))), gamma), beta)
          logits = matmul(dropout(relu(n), rate=0.5, seed=2), w2)
          loss = softmax_cross_entropy(logits, labels)
          output loss as loss
          output logits as logits
          new_mean = add(mul(mean, 0.9), mul(bm, 0.1))
          update mean = new_mean
        }
        """

    @Test("an exported model imported again predicts the same probabilities; its inputs have no labels")
    func roundTrip() throws {
        let trainer = try Trainer(graph: try Parser.parse(Self.text), optimizer: try .parse("adam:lr=0.1"), backend: .interpreter, seed: 1)
        let x = Tensor([4, 6], floats: (0..<24).map { Float(($0 * 7) % 11) / 11 })
        for _ in 0..<3 { try trainer.step(["x": x, "labels": Tensor([4], ints: [0, 1, 2, 1])]) }
        let model = try Model(trainer, backend: .interpreter)
        let path = NSTemporaryDirectory() + "kiln-model-\(UUID().uuidString).onnx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.exportONNX(to: path)
        let imported = try Model(onnx: path, backend: .interpreter)
        #expect(imported.inputs.map(\.name) == ["x"])
        let examples = Tensor([7, 6], floats: (0..<42).map { Float(($0 * 5) % 13) / 13 - 0.3 })
        let expected = try model.predict(examples)
        let got = try #require(try imported.predictAll(["x": examples])["probabilities"])
        #expect(got.type == expected.type)
        let worst = zip(got.floats, expected.floats).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-6)
        // The running mean moved during training, and the exported model carries it.
        #expect(try #require(model.weights["mean"]).floats.contains { $0 != 0 })
    }
}
