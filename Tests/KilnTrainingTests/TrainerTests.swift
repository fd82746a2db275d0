import Foundation
import KilnData
import KilnIR
import KilnNN
import KilnRuntime
import KilnTraining
import Testing

struct TrainerTests {
    static let graphText = """
        graph tiny {
          input x: f32[8, 4]
          input labels: i32[8]
          param w: f32[4, 3] = glorot_uniform
          param b: f32[3] = zeros
          logits = add(matmul(dropout(x, rate=0.1, seed=3), w), b)
          loss = softmax_cross_entropy(logits, labels)
          output loss
          output logits
        }
        """

    /// Separable toy data: the label is the index of the largest of the first three features.
    static func data(_ n: Int) throws -> Dataset {
        var values: [Float] = [], labels: [Int32] = []
        for i in 0..<n {
            let row = (0..<4).map { j in KilnRandom.uniform(seed: 9, step: UInt64(i), index: UInt64(j)) }
            values += row
            labels.append(Int32(row.prefix(3).indices.max { row[$0] < row[$1] } ?? 0))
        }
        return try Dataset(["x": Tensor([n, 4], floats: values), "labels": Tensor([n], ints: labels)])
    }

    func trainer() throws -> Trainer {
        try Trainer(graph: try Parser.parse(Self.graphText), loss: "loss", optimizer: try .parse("adam:lr=0.05"))
    }

    @Test("training lowers the loss and learns the toy task")
    func learns() throws {
        let t = try trainer(), data = try Self.data(200)
        let before = try t.evaluate(data)
        for epoch in 0..<80 { for batch in data.trainingBatches(size: 8, seed: UInt64(epoch)) { try t.step(batch) } }
        let after = try t.evaluate(data)
        #expect(after.loss < before.loss)
        #expect(after.accuracy > 0.85, "accuracy \(after.accuracy)")
        #expect(after.predictions.count == 200)
    }

    @Test("a checkpoint resumed gives bit-identical parameters to an uninterrupted run")
    func resume() throws {
        let data = try Self.data(64)
        let path = NSTemporaryDirectory() + "kiln-ckpt-\(UUID().uuidString).safetensors"
        let straight = try trainer()
        for epoch in 0..<4 { for batch in data.trainingBatches(size: 8, seed: UInt64(epoch)) { try straight.step(batch) } }

        let first = try trainer()
        for epoch in 0..<2 { for batch in data.trainingBatches(size: 8, seed: UInt64(epoch)) { try first.step(batch) } }
        try first.saveCheckpoint(to: path)
        let resumed = try trainer()
        try resumed.loadCheckpoint(from: path)
        #expect(resumed.stepCount == first.stepCount)
        for epoch in 2..<4 { for batch in data.trainingBatches(size: 8, seed: UInt64(epoch)) { try resumed.step(batch) } }
        for name in straight.state.keys.sorted() {
            #expect(straight.state[name]?.ints == resumed.state[name]?.ints, "\(name)")
        }
    }

    @Test("the JIT backend trains to the same parameters as the interpreter")
    func jitMatchesInterpreter() throws {
        let data = try Self.data(64)
        let interp = try trainer()
        let jit = try Trainer(graph: try Parser.parse(Self.graphText), loss: "loss", optimizer: try .parse("adam:lr=0.05"), backend: .jit)
        for batch in data.trainingBatches(size: 8, seed: 1) { try interp.step(batch); try jit.step(batch) }
        for name in interp.state.keys.sorted() {
            let a = try #require(interp.state[name]).floats, b = try #require(jit.state[name]).floats
            #expect(zip(a, b).allSatisfy { Swift.abs($0 - $1) <= 1e-4 * Swift.max(1, Swift.abs($0)) }, "\(name)")
        }
    }
}

import KilnPasses
