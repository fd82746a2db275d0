import KilnIR

/// A number computed from a classifier's evaluation — its predictions, labels and class
/// probabilities over a whole data set — in the same pass as loss and accuracy: `fit(metrics:)`
/// computes each after every epoch on the validation and test sets and records it in the
/// `EpochRecord`, the epoch line and the report.
///
///     let meanRecall = Metric("mean recall") { e in
///         let m = ClassificationMetrics(predictions: e.predictions, labels: e.labels, classes: e.classes)
///         return (0..<e.classes).map(m.recall).reduce(0, +) / Double(e.classes)
///     }
///     try trainer.fit(train, epochs: 3, test: test, metrics: [.topK(3), meanRecall])
public struct Metric: Sendable {
    /// Shown in the epoch line ("validation NAME 0.9"), the report and `EpochRecord`.
    public let name: String
    public let compute: @Sendable (Evaluation) -> Double

    public init(_ name: String, _ compute: @escaping @Sendable (Evaluation) -> Double) {
        self.name = name
        self.compute = compute
    }

    /// The fraction of examples whose label is among the `k` most probable classes.
    public static func topK(_ k: Int) -> Metric {
        Metric("top-\(k) accuracy") { $0.topKAccuracy(k) }
    }

    /// Throws unless every name is non-empty and used once.
    static func check(_ metrics: [Metric]) throws {
        var seen = Set<String>()
        for metric in metrics {
            guard !metric.name.isEmpty else { throw Diagnostic("fit: a metric has an empty name") }
            guard seen.insert(metric.name).inserted else { throw Diagnostic("fit: two metrics are named '\(metric.name)'") }
        }
    }
}

/// One metric's value in an `EpochRecord`.
public struct MetricValue: Sendable, Equatable {
    public var name: String
    public var value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

extension Evaluation {
    /// The fraction of examples whose label is among the `k` most probable classes (ties
    /// counted against the label: a class scoring equal to it ranks ahead). NaN when `k` is
    /// not in 1...classes or there are no examples.
    public func topKAccuracy(_ k: Int) -> Double {
        guard (1...Swift.max(classes, 1)).contains(k), classes > 0, !labels.isEmpty,
              probabilities.count == labels.count * classes else { return .nan }
        var hits = 0
        for (row, label) in labels.enumerated() {
            let base = row * classes
            let own = probabilities[base + Int(label)]
            var ahead = 0
            for j in 0..<classes where j != Int(label) && probabilities[base + j] >= own { ahead += 1 }
            if ahead < k { hits += 1 }
        }
        return Double(hits) / Double(labels.count)
    }

    /// The `metrics`' values on this evaluation, in order.
    func values(of metrics: [Metric]) -> [MetricValue] {
        metrics.map { MetricValue(name: $0.name, value: $0.compute(self)) }
    }
}
