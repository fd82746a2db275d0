import Foundation
import KilnData
import KilnDistributed
import KilnIR
import KilnPasses
import KilnRuntime
import KilnTraining
import Testing

/// The data-parallel step without MPI: two shards' gradients computed in one process, summed
/// by hand (what MPI_Allreduce does), then averaged and applied, against one process running
/// the fused training step on the whole batch. The multi-process runs are in Tests/Distributed.
struct DataParallelTests {
    /// A two-layer MLP without dropout (dropout's masks depend on a row's place in the batch).
    static let graphText = """
        graph mlp2 {
          input x: f32[8, 6]
          input labels: i32[8]
          param w1: f32[6, 5] = glorot_uniform
          param b1: f32[5] = zeros
          param w2: f32[5, 3] = glorot_uniform
          param b2: f32[3] = zeros
          h = relu(add(matmul(x, w1), b1))
          logits = add(matmul(h, w2), b2)
          loss = softmax_cross_entropy(logits, labels)
          output loss as loss
          output logits as logits
        }
        """

    static func data(_ n: Int) throws -> Dataset {
        var values: [Float] = [], labels: [Int32] = []
        for i in 0..<n {
            let row = (0..<6).map { j in KilnRandom.uniform(seed: 5, step: UInt64(i), index: UInt64(j)) * 2 - 1 }
            values += row
            labels.append(Int32(i % 3))
        }
        return try Dataset(["x": Tensor([n, 6], floats: values), "labels": Tensor([n], ints: labels)])
    }

    /// Largest |a − b| / (1 + |b|) over every state tensor.
    /// The largest relative difference between two states; infinity when their names or shapes
    /// differ, when either holds a NaN or infinity (`max(worst, .nan)` would keep `worst`), or
    /// when there is nothing to compare.
    static func difference(_ a: [String: Tensor], _ b: [String: Tensor]) -> Float {
        guard Set(a.keys) == Set(b.keys), a.values.contains(where: { $0.dtype == .f32 }) else { return .infinity }
        var worst: Float = 0
        for (name, x) in a where x.dtype == .f32 {
            guard let y = b[name], y.type == x.type else { return .infinity }
            for i in 0..<x.elementCount {
                let (u, v) = (x.floatPointer[i], y.floatPointer[i])
                guard u.isFinite && v.isFinite else { return .infinity }
                worst = max(worst, abs(u - v) / (1 + abs(v)))
            }
        }
        return worst
    }

    @Test("the state difference is infinite for a NaN, a missing name or nothing to compare")
    func differenceCanFail() {
        let x = ["w": Tensor([2], floats: [1, 2])]
        #expect(Self.difference(x, x) == 0)
        #expect(Self.difference(x, ["w": Tensor([2], floats: [1, .nan])]) == .infinity)
        #expect(Self.difference(["w": Tensor([2], floats: [.nan, 2])], x) == .infinity)
        #expect(Self.difference(x, [:]) == .infinity)
        #expect(Self.difference([:], [:]) == .infinity)
        #expect(Self.difference(x, ["w": Tensor([2], floats: [1, 2.5])]) > 0.1)
    }

    @Test("two shards averaged equal one process on the doubled batch", arguments: ["sgd:lr=0.1", "adam:lr=0.01"])
    func twoShardsEqualDoubledBatch(optimizer: String) throws {
        let graph = try Parser.parse(Self.graphText)
        let single = try Trainer(graph: graph, optimizer: try .parse(optimizer), seed: 7, batchSize: 16)
        let rank = try Trainer(graph: graph, optimizer: try .parse(optimizer), seed: 7, batchSize: 8)
        let dp = try DataParallelTrainer(trainer: rank, reducer: SingleProcessReducer())
        let data = try Self.data(64)
        let plan = try single.feedPlan(for: data)
        #expect(Self.difference(rank.state, single.state) == 0, "same seed, same initial params")
        for batch in data.trainingBatches(size: 16, seed: 1) {
            let expected = try single.step(batch, plan: plan)
            var sum: [[Float]] = []
            for r in 0..<2 {
                let shard = Batch(arrays: try Dataset(batch.arrays).subset(Array(r * 8..<(r + 1) * 8)).arrays, count: 8)
                let local = try dp.localGradients(try plan.feeds(shard, inputs: rank.forward.inputs))
                sum = sum.isEmpty ? local : zip(sum, local).map { zip($0, $1).map { $0 + $1 } }
            }
            let loss = try dp.applySummed(sum, ranks: 2)
            #expect(abs(loss - expected) <= 1e-5 * (1 + abs(expected)))
        }
        #expect(rank.stepCount == single.stepCount)
        // float32 sums in another order: a few ulps per step, well under 1e-5 relative.
        #expect(Self.difference(rank.state, single.state) < 1e-5)
    }

    @Test("the cut: gradients out of one graph, averaged gradients into the other, buckets bounded")
    func graphsAndBuckets() throws {
        let forward = try inferTypes(try Parser.parse(Self.graphText))
        let g = try DataParallelGraphs(forward: forward, loss: "loss", optimizer: try .parse("adam"), bucketBytes: 100, ranks: 4)
        #expect(g.gradient.updates.isEmpty && !g.update.updates.isEmpty)
        #expect(Set(g.update.inputs.map(\.name)) == ["d_w1", "d_b1", "d_w2", "d_b2", "lr"])
        // 100 bytes = 25 floats: b2, w2 and b1 (23 floats) share one; w1 (30, over the limit
        // alone) gets its own, with the loss.
        #expect(g.buckets.count == 2 && g.buckets.map(\.count) == [23, 31])
        #expect(g.buckets.flatMap(\.slots).map(\.param) == ["b2", "w2", "b1", "w1"])
        #expect(g.floatsPerStep == 30 + 5 + 15 + 3 + 1)
        let text = g.description
        #expect(text.contains("cut: all_reduce") && text.contains("over 4 ranks"))
    }

    @Test("single-process reducer: the data-parallel step is the ordinary step", arguments: BackendKind.allCases)
    func oneRankIsTheOrdinaryStep(backend: BackendKind) throws {
        let graph = try Parser.parse(Self.graphText)
        let single = try Trainer(graph: graph, optimizer: try .parse("momentum:lr=0.05"), backend: backend, seed: 3)
        let other = try Trainer(graph: graph, optimizer: try .parse("momentum:lr=0.05"), backend: backend, seed: 3)
        let dp = try DataParallelTrainer(trainer: other, reducer: SingleProcessReducer())
        let data = try Self.data(32)
        let plan = try single.feedPlan(for: data)
        for batch in data.trainingBatches(size: 8, seed: 2) {
            try single.step(batch, plan: plan)
            try dp.step(batch, plan: plan)
        }
        #expect(Self.difference(other.state, single.state) < 1e-6)
        let e = try dp.reducedEvaluation(data)
        #expect(e.accuracy == (try single.evaluate(data)).accuracy)
    }
}
