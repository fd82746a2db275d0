import Foundation
import KilnData
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime

/// Which engine runs a graph.
public enum BackendKind: String, Sendable, CaseIterable {
    case interp, jit
}

/// Accuracy and loss of a classifier over a whole data set (padding rows excluded).
public struct Evaluation: Sendable {
    public var loss: Double
    public var accuracy: Double
    /// Predicted and true class of every example, in data-set order.
    public var predictions: [Int32]
    public var labels: [Int32]
    /// Class probabilities of every example (rows of `classes` values), for ROC curves.
    public var probabilities: [Float]
    public var classes: Int
}

/// Trains a graph: builds its training step (forward, gradients, optimiser update) and its
/// evaluation graph, optimises both, and runs them on a backend while keeping the params and
/// optimiser state. The learning rate is fed each step, so schedules need no rebuild.
public final class Trainer {
    public let forward: Graph
    public let trainingGraph: Graph
    public let evaluationGraph: Graph
    public let loss: String
    public let optimizer: Optimizer
    /// Params and optimiser state, by name.
    public var state: [String: Tensor]
    public var learningRate: Float
    public private(set) var stepCount = 0
    /// The largest step count a checkpoint may carry (2^53).
    public static let maximumSteps = 1 << 53
    let stepBackend: ExecutionBackend
    let evaluationBackend: ExecutionBackend
    /// The graph's float input taking a batch of examples, and its integer label input.
    public let featureInput: Input
    public let labelInput: Input?

    /// Builds the step and evaluation graphs and checks them against `memoryBudget` (default:
    /// `MemoryBudget.standard()`) before any tensor is allocated.
    public init(graph: Graph, loss: String, optimizer: Optimizer, backend: BackendKind = .interp,
                seed: UInt64 = 0, optimize: Bool = true, memoryBudget: MemoryBudget? = nil) throws {
        forward = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        self.loss = loss
        self.optimizer = optimizer
        learningRate = Float(optimizer.learningRate)
        let pipeline: [any Pass] = optimize ? [Simplify(), Fusion(), MemoryPlanner()] : []
        var stepManager = PassManager([TrainingStep(loss: loss, optimizer: optimizer)] + pipeline)
        trainingGraph = try stepManager.run(forward)
        var evalManager = PassManager([EvaluationMode()] + pipeline)
        evaluationGraph = try evalManager.run(forward)
        // The state lives twice while a step runs (old and new values), hence two copies.
        try (memoryBudget ?? MemoryBudget.standard()).check(trainingGraph, stateCopies: 2)
        switch backend {
        case .interp:
            stepBackend = try Interpreter(graph: trainingGraph, usePlan: optimize)
            evaluationBackend = try Interpreter(graph: evaluationGraph, usePlan: optimize)
        case .jit:
            stepBackend = try JITBackend(graph: trainingGraph)
            evaluationBackend = try JITBackend(graph: evaluationGraph)
        }
        state = initialState(for: trainingGraph, seed: seed)
        let floats = forward.inputs.filter { $0.type.dtype == .f32 }
        guard let features = floats.first else { throw Diagnostic("graph '\(forward.name)' has no f32 input to feed examples to") }
        featureInput = features
        labelInput = forward.inputs.first { $0.type.dtype == .i32 }
    }

    /// The static batch size: the feature input's first dimension.
    public var batchSize: Int { featureInput.type.shape.dims.first ?? 1 }

    /// Whether `step` throws on a NaN or infinite loss (default true): training that diverged
    /// stops instead of carrying on with NaN params.
    public var stopsOnNonFiniteLoss = true

    /// One training step on explicit feeds; returns the loss. With `stopsOnNonFiniteLoss`, a
    /// NaN or infinite loss is an error naming the step (the state then holds that step's update).
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

    /// The names of params and state tensors holding a NaN or an infinity, sorted.
    public var nonFiniteState: [String] {
        state.filter { entry in
            entry.value.dtype == .f32
                && UnsafeBufferPointer(start: entry.value.floatPointer, count: entry.value.elementCount).contains { !$0.isFinite }
        }.keys.sorted()
    }

    /// One training step on a batch of examples.
    @discardableResult
    public func step(_ batch: Batch) throws -> Float { try step(try feeds(batch)) }

    func feeds(_ batch: Batch) throws -> [String: Tensor] {
        guard batch.features.elementCount == featureInput.type.elementCount else {
            throw Diagnostic("batch of \(batch.features.type) does not fit input '\(featureInput.name)' \(featureInput.type)")
        }
        var result = [featureInput.name: Tensor(type: featureInput.type, storage: batch.features.storage)]
        if let labelInput { result[labelInput.name] = batch.labels }
        return result
    }

    /// Loss and accuracy over every example of `dataset`, from the `logits` output.
    public func evaluate(_ dataset: Dataset, logits: String = "logits") throws -> Evaluation {
        var totalLoss = 0.0, correct = 0
        var predictions: [Int32] = [], labels: [Int32] = [], probabilities: [Float] = []
        var classes = 0
        for batch in dataset.evaluationBatches(size: batchSize) {
            var scratch = state
            let outputs = try evaluationBackend.run(inputs: try feeds(batch), state: &scratch, step: 0)
            guard let scores = outputs[logits], scores.shape.rank == 2 else {
                throw Diagnostic("graph '\(forward.name)' has no rank-2 output '\(logits)' to classify with")
            }
            classes = scores.shape[1]
            // Rows and labels are read by index below: check the shapes first, since a graph
            // whose logits are narrower than the labels' range would read past each row.
            guard classes > 0, scores.shape[0] >= batch.count, batch.labels.dtype == .i32,
                  batch.labels.elementCount >= batch.count else {
                throw Diagnostic("output '\(logits)' \(scores.type) does not hold one row of class scores per example (batch of \(batch.count))")
            }
            let p = scores.floatPointer
            for row in 0..<batch.count {
                let label = Int(batch.labels.intPointer[row])
                guard (0..<classes).contains(label) else {
                    throw Diagnostic("label \(label) is outside the \(classes) classes of output '\(logits)' \(scores.type); the graph's logits must have one column per class")
                }
                let base = row * classes
                var best = 0, m = p[base]
                for j in 0..<classes where p[base + j] > m { m = p[base + j]; best = j }
                var sum = 0.0
                for j in 0..<classes { sum += Foundation.exp(Double(p[base + j] - m)) }
                totalLoss += Double(m) + Foundation.log(sum) - Double(p[base + label])
                for j in 0..<classes { probabilities.append(Float(Foundation.exp(Double(p[base + j] - m)) / sum)) }
                if best == label { correct += 1 }
                predictions.append(Int32(best))
                labels.append(Int32(label))
            }
        }
        let n = Swift.max(predictions.count, 1)
        return Evaluation(loss: totalLoss / Double(n), accuracy: Double(correct) / Double(n), predictions: predictions,
                          labels: labels, probabilities: probabilities, classes: classes)
    }

    /// The evaluation graph's outputs for one batch (predictions, reconstructions, samples).
    public func outputs(for batch: Batch) throws -> [String: Tensor] {
        var scratch = state
        return try evaluationBackend.run(inputs: try feeds(batch), state: &scratch, step: 0)
    }

    /// Whether the graph classifies: an integer label input and a rank-2 `logits` output.
    public var isClassifier: Bool {
        labelInput != nil && forward.outputs.contains("logits") && forward.valueTypes["logits"]?.rank == 2
    }

    /// The mean of the loss output over `dataset` (for models without labels, e.g. autoencoders).
    /// The padded last batch counts in proportion to its real rows; its padding copies a real
    /// example, so the estimate is close but not exact for that batch.
    public func evaluateLoss(_ dataset: Dataset) throws -> Double {
        var total = 0.0, count = 0
        for batch in dataset.evaluationBatches(size: batchSize) {
            var scratch = state
            let outputs = try evaluationBackend.run(inputs: try feeds(batch), state: &scratch, step: 0)
            total += Double(outputs[loss]?.floats.first ?? .nan) * Double(batch.count)
            count += batch.count
        }
        return total / Double(Swift.max(count, 1))
    }

    /// Saves params, optimiser state and the step count (safetensors, written atomically).
    /// A state holding NaN or infinity is refused, so a diverged run never replaces a good file.
    public func saveCheckpoint(to path: String, metadata: [String: String] = [:]) throws {
        let bad = nonFiniteState
        guard bad.isEmpty else {
            throw Diagnostic("not saving checkpoint '\(path)': \(bad.prefix(5).joined(separator: ", ")) hold NaN or infinity")
        }
        var meta = metadata
        meta["kiln.steps"] = String(stepCount)
        meta["kiln.graph"] = forward.name
        meta["kiln.optimizer"] = optimizer.description
        try SafetensorsFormat.write(state, metadata: meta, to: path)
    }

    /// Restores what `saveCheckpoint` wrote; returns its metadata.
    @discardableResult
    public func loadCheckpoint(from path: String) throws -> [String: String] {
        let (tensors, metadata) = try SafetensorsFormat.read(path: path)
        for (name, current) in state {
            guard let saved = tensors[name] else { throw Diagnostic("checkpoint '\(path)' has no '\(name)'") }
            guard saved.type == current.type else {
                throw Diagnostic("checkpoint '\(path)': '\(name)' is \(saved.type), the graph needs \(current.type)")
            }
            state[name] = saved
        }
        let steps = metadata["kiln.steps"] ?? "0"
        // Step numbers seed dropout and count on; 2^53 keeps them exact and far from overflow.
        guard let count = Int(steps), (0...Self.maximumSteps).contains(count) else {
            throw Diagnostic("checkpoint '\(path)': kiln.steps '\(steps)' is not an integer in 0...\(Self.maximumSteps)")
        }
        stepCount = count
        return metadata
    }
}
