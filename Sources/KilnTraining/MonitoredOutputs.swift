import KilnData
import KilnIR
import KilnRuntime

/// Scalar outputs watched during training besides the loss: an RBM's reconstruction error and
/// the free energy of its data. `fit` evaluates each on the validation set and on as many
/// training examples (in evaluation mode, so the two are comparable) after every epoch, and
/// records both; the gap between them tracks overfitting (for an RBM the free energy of
/// validation data rising above that of training data, Hinton's practical guide §6).
extension Trainer {
    /// Every rank-0 output other than the loss, in the graph's output order.
    public var monitoredOutputs: [String] {
        forward.outputs.filter { $0 != loss && forward.valueTypes[$0]?.shape.dims.isEmpty == true }
    }

    /// The mean of every monitored output over the first `limit` examples of `dataset` (all of
    /// them when nil), on the evaluation graph, each batch weighted by its real rows (as
    /// `evaluateLoss`).
    public func evaluateMonitored(_ dataset: Dataset, limit: Int? = nil) throws -> [String: Double] {
        let names = monitoredOutputs
        guard !names.isEmpty, dataset.count > 0 else { return [:] }
        let count = Swift.min(limit ?? dataset.count, dataset.count)
        let used = count == dataset.count ? dataset : try dataset.subset(Array(0..<count))
        let plan = try feedPlan(for: used)
        var totals = [String: Double](), seen = 0
        for batch in used.evaluationBatches(size: batchSize) {
            let outputs = try self.outputs(for: batch, plan: plan)
            for name in names { totals[name, default: 0] += Double(outputs[name]?.floats.first ?? .nan) * Double(batch.count) }
            seen += batch.count
        }
        return totals.mapValues { $0 / Double(Swift.max(seen, 1)) }
    }
}

/// One monitored output's value on training and validation data after an epoch.
public struct MonitoredValue: Sendable, Equatable {
    public var name: String
    public var train: Double
    public var validation: Double?

    public init(name: String, train: Double, validation: Double?) {
        self.name = name
        self.train = train
        self.validation = validation
    }

    /// Validation minus training value (nil without validation data).
    public var gap: Double? { validation.map { $0 - train } }
}
