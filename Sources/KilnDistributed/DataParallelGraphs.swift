import KilnIR
import KilnPasses

/// A training step cut at the gradient boundary, for data-parallel training.
///
/// `TrainingStep` builds forward, backward and update as one graph. Data parallelism needs a
/// collective between backward and update, so the step becomes two ordinary graphs and a cut:
///
/// 1. `gradient`: forward and backward (`Differentiation` with the gradients as outputs).
///    Every rank runs it on its shard of the global batch; it reads the params and writes only
///    the graph's own state updates (`averagedState`, averaged across ranks afterwards).
/// 2. the all-reduce: the gradients, packed into `buckets` of at most `bucketBytes`, are summed
///    across ranks (MPI_Allreduce in place) and scaled by 1/N. With a mean-reduced loss and
///    equal shards, the average of the per-rank gradients is the gradient of the global batch's
///    mean loss, so the result equals the single-process step on the global batch.
/// 3. `update`: the optimiser step, emitted by the same code as `TrainingStep`
///    (`appendingUpdates`), with each param's averaged gradient as an input `d_<param>` and the
///    learning rate as `lr`. Every rank runs it on identical inputs, so params stay identical.
///
/// Both graphs print, verify and compile on either backend; `description` is what
/// `kiln dump --train LOSS --data-parallel N` prints.
public struct DataParallelGraphs {
    /// Where one param's gradient sits in the packed buffers.
    public struct Slot: Sendable, Equatable {
        /// The trained param.
        public var param: String
        /// The gradient graph's output holding its gradient.
        public var gradient: String
        /// The update graph's input that receives the averaged gradient.
        public var updateInput: String
        /// Offset and length in floats within the bucket.
        public var offset: Int
        public var count: Int
    }

    /// One contiguous float32 buffer all-reduced by one MPI call.
    public struct Bucket: Sendable, Equatable {
        public var slots: [Slot]
        /// Floats in the bucket (the last bucket carries the loss in one extra float).
        public var count: Int
    }

    /// Forward and backward: outputs the forward outputs and every `d_<param>`.
    public let gradient: Graph
    /// The optimiser step: inputs `d_<param>` (averaged) and `lr`, `update` statements.
    public let update: Graph
    /// The graph's own f32 `update` targets (batch norm's running statistics): the gradient
    /// graph writes them from each rank's shard, and they are then averaged across ranks — exact
    /// for running means (linear in the batch), close for running variances.
    public let averagedState: [String]
    /// The minimised output.
    public let loss: String
    /// The all-reduce buffers, in the order they are sent.
    public let buckets: [Bucket]
    /// The ranks the description is written for (the graphs do not depend on it).
    public var ranks: Int
    /// The default bucket size: 1 MiB, a few buckets for the zoo's models; larger buckets
    /// mean fewer MPI calls (latency), smaller ones would allow earlier overlap.
    public static let defaultBucketBytes = 1 << 20

    /// Cuts the training step of `forward` (typed, no updates) minimising `loss` with `optimizer`.
    public init(forward: Graph, loss: String, optimizer: Optimizer, bucketBytes: Int = defaultBucketBytes,
                ranks: Int = 2, pipeline: [any Pass] = []) throws {
        guard bucketBytes >= MemoryLayout<Float>.size else { throw Diagnostic("data-parallel: bucket size must be at least 4 bytes, got \(bucketBytes)") }
        let typed = forward.nodes.contains { $0.type == nil } ? try inferTypes(forward) : forward
        let (withGradients, gradients) = try Differentiation(loss: loss, outputsGradients: true).differentiate(typed)
        var gradientGraph = withGradients
        gradientGraph.name = "\(typed.name)_gradients"

        // The update graph: the trained params, one input per averaged gradient, then the update.
        var builder = GraphBuilder(name: "\(typed.name)_update", sourceFile: typed.sourceFile)
        var paramsByName: [String: Param] = [:]
        for p in typed.params where paramsByName[p.name] == nil { paramsByName[p.name] = p }
        var inputs: [(wrt: String, gradient: String)] = []
        for (param, _) in gradients {
            guard let p = paramsByName[param] else { throw Diagnostic("data-parallel: '\(param)' is not a param of '\(typed.name)'") }
            try builder.addParam(p.name, p.type, p.initializer, role: p.role, at: p.location)
        }
        for (param, _) in gradients {
            guard let p = paramsByName[param] else { continue }
            let name = builder.freeName("d_\(param)")
            try builder.addInput(name, p.type)
            inputs.append((param, name))
        }
        var updateGraph = try TrainingStep(loss: loss, optimizer: optimizer).appendingUpdates(to: builder.graph, gradients: inputs)
        updateGraph = try inferTypes(updateGraph)

        if !pipeline.isEmpty {
            var g = PassManager(pipeline), u = PassManager(pipeline)
            gradientGraph = try g.run(gradientGraph)
            updateGraph = try u.run(updateGraph)
        }

        // Buckets in reverse param order: backward produces the last layers' gradients first,
        // so these buckets are the ones an overlapping schedule could send earliest.
        let sizes = Dictionary(typed.params.map { ($0.name, $0.type.elementCount) }, uniquingKeysWith: { a, _ in a })
        let capacity = bucketBytes / MemoryLayout<Float>.size
        var made: [Bucket] = []
        var current = Bucket(slots: [], count: 0)
        for ((param, gradientName), input) in zip(gradients, inputs).reversed() {
            let count = sizes[param] ?? 0
            if current.count > 0 && current.count + count > capacity {
                made.append(current)
                current = Bucket(slots: [], count: 0)
            }
            current.slots.append(Slot(param: param, gradient: gradientName, updateInput: input.gradient, offset: current.count, count: count))
            current.count += count
        }
        current.count += 1  // the loss rides along, so the reported loss is the global mean
        made.append(current)

        let stateTypes = Dictionary(typed.params.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        self.averagedState = typed.updates.map(\.target).filter { stateTypes[$0]?.dtype == .f32 }
        self.gradient = gradientGraph
        self.update = updateGraph
        self.loss = loss
        self.buckets = made
        self.ranks = ranks
    }

    /// Floats all-reduced per step (gradients and the loss).
    public var floatsPerStep: Int { buckets.reduce(0) { $0 + $1.count } }
}

extension DataParallelGraphs: CustomStringConvertible {
    /// The two graphs and, between them, where communication happens.
    public var description: String {
        var lines: [String] = []
        lines.append("# Data-parallel training step over \(ranks) ranks (Docs/DISTRIBUTED.md): three parts, run in order on every rank.")
        lines.append("# 1. gradient graph: forward and backward on this rank's shard of the global batch (global batch = \(ranks) x the graph's batch).")
        var text = gradient.text
        if !text.hasSuffix("\n") { text += "\n" }
        lines.append(contentsOf: text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init))
        lines.append("# 2. ---- cut: all_reduce (MPI_Allreduce, MPI_SUM, MPI_IN_PLACE, float32), then x 1/\(ranks) ----")
        let total = floatsPerStep
        lines.append("# \(buckets.count) bucket(s), \(total) floats (\(total * 4) bytes) per rank per step; ring all-reduce sends 2(N-1)/N of that per rank")
        for (i, bucket) in buckets.enumerated() {
            let names = bucket.slots.map { "\($0.gradient)[\($0.count)]" } + (i == buckets.count - 1 ? ["\(loss)[1]"] : [])
            lines.append("#   all_reduce bucket \(i) (\(bucket.count) floats): " + names.joined(separator: ", "))
        }
        if !averagedState.isEmpty {
            lines.append("#   then all_reduce of the graph's own state updates (averaged): " + averagedState.joined(separator: ", "))
        }
        let mapping = buckets.flatMap(\.slots).map { "\($0.gradient) -> \($0.updateInput)" }
        lines.append("# averaged gradients feed the update graph's inputs: " + mapping.joined(separator: ", "))
        lines.append("# 3. update graph: the optimiser step, identical on every rank (same params, same averaged gradients, same lr).")
        lines.append(update.text)
        return lines.joined(separator: "\n")
    }
}
