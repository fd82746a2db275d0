import Foundation
import KilnData
import KilnIR
import KilnPasses
import KilnRuntime

/// Trains a graph: builds its training step (forward, gradients, optimiser update) and its
/// evaluation graph, optimises both, and runs them on a backend while keeping the params and
/// optimiser state. The learning rate is fed each step, so schedules need no rebuild.
/// `fit` (in `Fit.swift`) is the epoch loop over a `Dataset`.
public final class Trainer {
    /// The forward graph, typed (and re-specialised when a batch size was asked for).
    public let forward: Graph
    public let trainingGraph: Graph
    public let evaluationGraph: Graph
    /// The scalar output minimised.
    public let loss: String
    /// The class-score output used for accuracy and metrics, when the graph classifies.
    public let logits: String?
    /// The integer input holding class labels, when the graph classifies.
    public let labelInput: Input?
    public let optimizer: Optimizer
    public let backend: BackendKind
    /// Params and optimiser state, by name.
    public var state: [String: Tensor]
    public var learningRate: Float
    /// Steps taken; settable so a data-parallel trainer (KilnDistributed) that runs its own
    /// step graphs keeps the count checkpoints and dropout seeds read.
    public var stepCount = 0
    /// The largest step count a checkpoint may carry (2^53).
    public static let maximumSteps = 1 << 53
    /// What the trainer had to guess (an output role found by name, not declared).
    public private(set) var warnings: [String] = []
    /// Graph input → data-set array mapping that overrides the default (same name, then the
    /// unique array of matching dtype and size).
    public var feedMapping: [String: String] = [:]
    /// Random changes applied to every training batch (never to evaluation), seeded by the
    /// step; nil: none.
    public var augmentation: Augmentation?
    /// Trainable params left out of the training step: no gradient is computed for them, they
    /// get no optimiser state, and their values never change.
    public let frozen: [String]
    /// Running statistics (batch norm's) left as they are because their layer's params are all
    /// frozen: the training step normalises with them and does not update them
    /// (`FrozenStatistics`); empty with `updatesFrozenStatistics`.
    public let frozenStatistics: [String]
    let stepBackend: ExecutionBackend
    let evaluationBackend: ExecutionBackend

    /// Builds the step and evaluation graphs and checks them against `memoryBudget` (default:
    /// `MemoryBudget.standard()`) before any tensor is allocated.
    ///
    /// - Parameters:
    ///   - loss: the output to minimise; default: the output declared `as loss`, else `loss`.
    ///   - batchSize: re-specialise the graph to this static batch (`BatchSpecialization`).
    ///   - backend: the JIT by default; `.interpreter` is the reference (slower, no compile time).
    ///   - frozen: trainable params not to train (see `ParamSelection` for globs). A batch-norm
    ///     layer whose params are all frozen also keeps its running statistics
    ///     (`frozenStatistics`) unless `updatesFrozenStatistics`.
    ///   - labelSmoothing: ε in [0, 1) for a classifier's `softmax_cross_entropy` loss: targets
    ///     become (1 − ε)·onehot + ε/K (`LabelSmoothing`); the reported losses are the smoothed one.
    public init(graph: Graph, loss: String? = nil, optimizer: Optimizer, backend: BackendKind = .jit,
                seed: UInt64 = 0, optimize: Bool = true, memoryBudget: MemoryBudget? = nil, batchSize: Int? = nil,
                frozen: [String] = [], updatesFrozenStatistics: Bool = false, labelSmoothing: Double = 0) throws {
        var typed = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        var notes: [String] = []
        let batch = typed.inputs.first?.type.shape.dims.first
        if let batchSize, let batch, batchSize != batch {
            typed = try BatchSpecialization(from: batch, to: batchSize).run(typed)
        }
        let resolvedLoss = try Self.resolveLoss(loss, in: typed, notes: &notes)
        if labelSmoothing != 0 { typed = try LabelSmoothing(epsilon: labelSmoothing, loss: resolvedLoss).run(typed) }
        forward = typed
        self.loss = resolvedLoss
        (logits, labelInput) = Self.classification(in: typed, notes: &notes)
        warnings = notes
        self.optimizer = optimizer
        self.backend = backend
        learningRate = Float(optimizer.learningRate)
        let pipeline: [any Pass] = optimize ? OptimizingPipeline.passes : []
        let trainable = typed.trainableParams.map(\.name)
        for name in frozen where !trainable.contains(name) {
            throw Diagnostic("cannot freeze '\(name)': not a trainable param of graph '\(typed.name)'")
        }
        let trained = trainable.filter { !frozen.contains($0) }
        guard frozen.isEmpty || !trained.isEmpty else { throw Diagnostic("every param of graph '\(typed.name)' is frozen: nothing to train") }
        self.frozen = frozen
        let statistics = updatesFrozenStatistics ? [] : FrozenStatistics.frozenStates(in: typed, frozen: Set(frozen))
        frozenStatistics = statistics.sorted()
        var stepManager = PassManager([FrozenStatistics(states: statistics), TrainingStep(loss: self.loss, optimizer: optimizer, params: frozen.isEmpty ? nil : trained)] + pipeline)
        trainingGraph = try stepManager.run(forward)
        var evalManager = PassManager([EvaluationMode()] + pipeline)
        evaluationGraph = try evalManager.run(forward)
        // The state lives twice while a step runs (old and new values), hence two copies.
        try (memoryBudget ?? MemoryBudget.standard()).check(trainingGraph, stateCopies: 2)
        stepBackend = try backend.makeBackend(for: trainingGraph, usePlan: optimize)
        evaluationBackend = try backend.makeBackend(for: evaluationGraph, usePlan: optimize)
        state = initialState(for: trainingGraph, seed: seed)
    }

    private static func resolveLoss(_ asked: String?, in graph: Graph, notes: inout [String]) throws -> String {
        if let asked {
            guard graph.outputs.contains(asked) else {
                throw Diagnostic("graph '\(graph.name)' has no output '\(asked)' to minimise (outputs: \(graph.outputs.joined(separator: ", ")))")
            }
            return asked
        }
        if let declared = graph.output(withRole: .loss) { return declared }
        guard graph.outputs.contains("loss") else {
            throw Diagnostic("graph '\(graph.name)' declares no loss: mark one with 'output NAME as loss' (outputs: \(graph.outputs.joined(separator: ", ")))")
        }
        notes.append("graph '\(graph.name)' declares no output role loss; minimising the output named 'loss' (declare 'output loss as loss')")
        return "loss"
    }

    /// The logits output and label input of a classifier: the output declared `as logits`
    /// (or, with a warning, one named `logits`), rank 2; labels are the i32 input that
    /// `softmax_cross_entropy` reads, else the only rank-1 i32 input.
    private static func classification(in graph: Graph, notes: inout [String]) -> (String?, Input?) {
        let intInputs = graph.inputs.filter { $0.type.dtype == .i32 && $0.type.rank == 1 }
        var logits = graph.output(withRole: .logits)
        if logits == nil, graph.outputs.contains("logits") {
            logits = "logits"
            notes.append("graph '\(graph.name)' declares no output role logits; using the output named 'logits' for accuracy (declare 'output logits as logits')")
        }
        guard let name = logits, graph.valueTypes[name]?.rank == 2 else {
            if !intInputs.isEmpty && graph.outputRoles.isEmpty {
                notes.append("graph '\(graph.name)' has integer inputs but no output declared 'as logits': no accuracy or class metrics will be reported")
            }
            return (nil, nil)
        }
        let readBySCE = graph.nodes.filter { $0.op == .softmax_cross_entropy }.compactMap { $0.operands.last }
        let labels = intInputs.first { readBySCE.contains($0.name) } ?? (intInputs.count == 1 ? intInputs.first : nil)
        if labels == nil { notes.append("graph '\(graph.name)': output '\(name)' is logits but no i32 label input was found; no accuracy will be reported") }
        return (labels == nil ? nil : name, labels)
    }

    /// The static batch size: the data inputs' first dimension.
    public var batchSize: Int { forward.inputs.first?.type.shape.dims.first ?? 1 }

    /// The first f32 data input (images, for pictures in reports), if any.
    public var featureInput: Input? { forward.inputs.first { $0.type.dtype == .f32 } }

    /// Whether the graph classifies: a logits output and a label input.
    public var isClassifier: Bool { logits != nil && labelInput != nil }

    /// The feed plan for a data set's arrays, honouring `feedMapping`.
    public func feedPlan(for dataset: Dataset) throws -> FeedPlan {
        try FeedPlan(inputs: forward.inputs, dataset: dataset, explicit: feedMapping)
    }

    /// Whether `step` throws on a NaN or infinite loss (default true): training that diverged
    /// stops instead of carrying on with NaN params.
    public var stopsOnNonFiniteLoss = true

    /// One training step on explicit feeds (graph input name → tensor); returns the loss.
    /// With `stopsOnNonFiniteLoss`, a NaN or infinite loss is an error naming the step (the
    /// state then holds that step's update).
    @discardableResult
    public func step(_ feeds: [String: Tensor]) throws -> Float {
        var inputs = feeds
        inputs[TrainingStep.learningRateInput] = Tensor.scalar(learningRate)
        let outputs = try stepBackend.run(inputs: inputs, state: &state, step: stepCount)
        stepCount += 1
        let value = outputs[loss]?.floats.first ?? .nan
        if stopsOnNonFiniteLoss && !value.isFinite {
            throw Diagnostic("the loss '\(loss)' is \(value.isNaN ? "NaN" : value.description) at step \(stepCount) (learning rate \(learningRate)): training diverged")
        }
        return value
    }

    /// One training step on a batch, fed by `plan` (default: the plan for the batch's arrays).
    @discardableResult
    public func step(_ batch: Batch, plan: FeedPlan? = nil) throws -> Float {
        try step(try feeds(batch, plan: plan))
    }

    func feeds(_ batch: Batch, plan: FeedPlan?) throws -> [String: Tensor] {
        let chosen = try plan ?? FeedPlan(inputs: forward.inputs, arrays: FeedPlan.exampleTypes(batch.arrays), explicit: feedMapping)
        return try chosen.feeds(batch, inputs: forward.inputs)
    }

    /// The names of params and state tensors holding a NaN or an infinity, sorted.
    public var nonFiniteState: [String] {
        state.filter { entry in
            entry.value.dtype == .f32
                && UnsafeBufferPointer(start: entry.value.floatPointer, count: entry.value.elementCount).contains { !$0.isFinite }
        }.keys.sorted()
    }

    /// The evaluation graph's outputs for one batch (predictions, reconstructions, samples).
    public func outputs(for batch: Batch, plan: FeedPlan? = nil) throws -> [String: Tensor] {
        var scratch = state
        return try evaluationBackend.run(inputs: try feeds(batch, plan: plan), state: &scratch, step: 0)
    }

    /// The mean of the loss output over `dataset` on the evaluation graph. The padded last
    /// batch counts in proportion to its real rows; its padding copies a real example, so the
    /// estimate is close but not exact for that batch.
    public func evaluateLoss(_ dataset: Dataset) throws -> Double {
        let plan = try feedPlan(for: dataset)
        var total = 0.0, count = 0
        for batch in dataset.evaluationBatches(size: batchSize) {
            let outputs = try self.outputs(for: batch, plan: plan)
            total += Double(outputs[loss]?.floats.first ?? .nan) * Double(batch.count)
            count += batch.count
        }
        return total / Double(Swift.max(count, 1))
    }
}
