import KilnData
import KilnIR
import KilnPasses
import KilnRuntime
import KilnSupport
import KilnTraining

/// Data-parallel training on one rank: the gradient graph on this rank's shard, the bucketed
/// all-reduce, then the update graph (see `DataParallelGraphs`).
///
/// It wraps a `Trainer` built for the per-rank batch, which keeps the params and optimiser
/// state (`trainer.state`, same names as the single-process step's), the step count, the
/// evaluation graph and checkpoints; the wrapper runs its own gradient and update graphs on
/// that state instead of the trainer's fused step.
public final class DataParallelTrainer {
    /// The per-rank trainer: params, optimiser state, step count, evaluation, checkpoints.
    public let trainer: Trainer
    /// The gradient graph, the bucket layout and the update graph this trainer runs.
    public let graphs: DataParallelGraphs
    /// The collectives (an MPI `Communicator`, or `SingleProcessReducer`).
    public let reducer: Reducer
    /// Time split of the steps so far, for `kiln train --distributed` and the benchmark.
    public private(set) var timings = StepTimings()
    let gradientBackend: ExecutionBackend
    let updateBackend: ExecutionBackend
    /// One reusable buffer per bucket.
    private var buffers: [[Float]]
    /// The update graph's input types, by name.
    private let updateInputTypes: [String: TensorType]

    /// Where a step's time went, summed over steps.
    public struct StepTimings: Sendable {
        public var steps = 0
        /// Forward and backward (the gradient graph).
        public var gradientSeconds = 0.0
        /// Packing, MPI_Allreduce (including waiting for slower ranks) and unpacking.
        public var allReduceSeconds = 0.0
        /// The optimiser update graph.
        public var updateSeconds = 0.0
        public var totalSeconds: Double { gradientSeconds + allReduceSeconds + updateSeconds }
    }

    /// - Parameters:
    ///   - trainer: built for the per-rank batch (global batch / ranks).
    ///   - bucketBytes: the largest all-reduce buffer.
    public init(trainer: Trainer, reducer: Reducer, bucketBytes: Int = DataParallelGraphs.defaultBucketBytes,
                optimize: Bool = true) throws {
        self.trainer = trainer
        self.reducer = reducer
        let pipeline: [any Pass] = optimize ? OptimizingPipeline.passes : []
        graphs = try DataParallelGraphs(forward: trainer.forward, loss: trainer.loss, optimizer: trainer.optimizer,
                                        bucketBytes: bucketBytes, ranks: reducer.size, pipeline: pipeline)
        for slot in graphs.buckets.flatMap(\.slots) where !graphs.gradient.outputs.contains(slot.gradient) {
            throw Diagnostic("data-parallel: the gradient graph lost its output '\(slot.gradient)'")
        }
        // The update graph's state must be the single-process step's, so checkpoints are interchangeable.
        let expected = Set(trainer.state.keys), have = Set(graphs.update.params.map(\.name))
        guard have.isSubset(of: expected) else {
            throw Diagnostic("data-parallel: update state \(have.subtracting(expected).sorted()) is not in the training step's state")
        }
        gradientBackend = try trainer.backend.makeBackend(for: graphs.gradient, usePlan: optimize)
        updateBackend = try trainer.backend.makeBackend(for: graphs.update, usePlan: optimize)
        buffers = graphs.buckets.map { [Float](repeating: 0, count: $0.count) }
        updateInputTypes = Dictionary(graphs.update.inputs.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
    }

    /// Copies rank 0's params and optimiser state to every rank (sorted by name, one broadcast
    /// per tensor), so all ranks start identical whatever their seeds.
    public func broadcastState(root: Int = 0) throws {
        for name in trainer.state.keys.sorted() {
            guard let tensor = trainer.state[name], tensor.dtype == .f32 else { continue }
            try reducer.broadcast(tensor.floatPointer, count: tensor.elementCount, root: root)
        }
        var count = [Double(trainer.stepCount)]
        try reducer.broadcast(&count, root: root)
        trainer.stepCount = Int(count[0])
    }

    /// Runs the gradient graph on this rank's feeds and packs gradients and loss into buckets.
    /// Returns the per-rank (not yet reduced) buckets.
    public func localGradients(_ feeds: [String: Tensor]) throws -> [[Float]] {
        let start = monotonicSeconds()
        // On the trainer's state: the graph's own updates (running statistics) land there.
        let outputs = try gradientBackend.run(inputs: feeds, state: &trainer.state, step: trainer.stepCount)
        let packStart = monotonicSeconds()
        timings.gradientSeconds += packStart - start
        for (b, bucket) in graphs.buckets.enumerated() {
            try buffers[b].withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                for slot in bucket.slots {
                    guard let g = outputs[slot.gradient], g.elementCount == slot.count, g.dtype == .f32 else {
                        throw Diagnostic("data-parallel: gradient '\(slot.gradient)' missing or mis-sized")
                    }
                    (base + slot.offset).update(from: g.floatPointer, count: slot.count)
                }
                if b == graphs.buckets.count - 1 { base[bucket.count - 1] = outputs[graphs.loss]?.floats.first ?? .nan }
            }
        }
        timings.allReduceSeconds += monotonicSeconds() - packStart
        return buffers
    }

    /// Applies summed buckets from `ranks` ranks: scales by 1/ranks, runs the update graph on
    /// the averages and returns the mean loss.
    @discardableResult
    public func applySummed(_ summed: [[Float]], ranks: Int) throws -> Float {
        let start = monotonicSeconds()
        let scale = 1 / Float(ranks)
        var inputs: [String: Tensor] = [TrainingStep.learningRateInput: Tensor.scalar(trainer.learningRate)]
        var loss = Float.nan
        for (b, bucket) in graphs.buckets.enumerated() {
            let values = summed[b]
            for slot in bucket.slots {
                guard let type = updateInputTypes[slot.updateInput] else {
                    throw Diagnostic("data-parallel: the update graph has no input '\(slot.updateInput)'")
                }
                let t = Tensor(zeros: type)
                let p = t.floatPointer
                values.withUnsafeBufferPointer { source in
                    for i in 0..<slot.count { p[i] = source[slot.offset + i] * scale }
                }
                inputs[slot.updateInput] = t
            }
            if b == graphs.buckets.count - 1 { loss = values[bucket.count - 1] * scale }
        }
        let updateStart = monotonicSeconds()
        timings.allReduceSeconds += updateStart - start
        _ = try updateBackend.run(inputs: inputs, state: &trainer.state, step: trainer.stepCount)
        timings.updateSeconds += monotonicSeconds() - updateStart
        trainer.stepCount += 1
        timings.steps += 1
        return loss
    }

    /// One data-parallel step on this rank's shard; returns the global batch's mean loss.
    /// A non-finite loss is an error (every rank sees the same reduced loss, so all stop).
    @discardableResult
    public func step(_ feeds: [String: Tensor]) throws -> Float {
        var local = try localGradients(feeds)
        let start = monotonicSeconds()
        for b in local.indices {
            try local[b].withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                try reducer.allReduceSum(base, count: buffer.count)
            }
        }
        try averageGraphState()
        timings.allReduceSeconds += monotonicSeconds() - start
        let loss = try applySummed(local, ranks: reducer.size)
        if trainer.stopsOnNonFiniteLoss && !loss.isFinite {
            throw Diagnostic("the loss '\(trainer.loss)' is \(loss.isNaN ? "NaN" : loss.description) at step \(trainer.stepCount) (learning rate \(trainer.learningRate)): training diverged")
        }
        return loss
    }

    /// Averages the graph's own state updates across ranks (one all-reduce for all of them),
    /// so every rank keeps the same running statistics.
    private func averageGraphState() throws {
        let names = graphs.averagedState
        guard !names.isEmpty, reducer.size > 1 else { return }
        let tensors = try names.map { name -> Tensor in
            guard let t = trainer.state[name] else { throw Diagnostic("data-parallel: no state '\(name)'") }
            return t
        }
        var packed = [Float]()
        packed.reserveCapacity(tensors.reduce(0) { $0 + $1.elementCount })
        for t in tensors { packed.append(contentsOf: UnsafeBufferPointer(start: t.floatPointer, count: t.elementCount)) }
        try packed.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try reducer.allReduceSum(base, count: buffer.count)
        }
        let scale = 1 / Float(reducer.size)
        var offset = 0
        for (name, t) in zip(names, tensors) {
            // A fresh tensor: the backend may still hold the old one.
            let averaged = Tensor(zeros: t.type)
            for i in 0..<t.elementCount { averaged.floatPointer[i] = packed[offset + i] * scale }
            offset += t.elementCount
            trainer.state[name] = averaged
        }
    }

    /// One step on this rank's shard of a batch, fed by `plan`.
    @discardableResult
    public func step(_ batch: Batch, plan: FeedPlan) throws -> Float {
        try step(try plan.feeds(batch, inputs: trainer.forward.inputs))
    }

    /// Zeroes the timings (the benchmark skips warm-up steps).
    public func resetTimings() { timings = StepTimings() }
}
