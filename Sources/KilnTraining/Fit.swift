import Foundation
import KilnData
import KilnIR
import KilnRuntime
import KilnSupport

/// Where `fit` takes its validation examples from.
public enum ValidationData: Sendable {
    /// No validation (early stopping then has nothing to watch).
    case none
    /// Hold out this fraction of the training data (a seeded shuffle), in [0, 1).
    case fraction(Double)
    /// A given validation set.
    case dataset(Dataset)
}

/// Where `fit` saves after every epoch, and whether it starts from what is there.
public struct CheckpointPolicy: Sendable {
    public var path: String
    /// Continue from the checkpoint (params, optimiser state, step and epoch counts).
    public var resume: Bool

    public init(path: String, resume: Bool = false) {
        self.path = path
        self.resume = resume
    }
}

extension Trainer {
    /// The largest epoch number a checkpoint may carry.
    public static let maximumCheckpointEpoch = 1_000_000_000

    /// Trains for `epochs` epochs on `data`: shuffled batches (seeded by `seed` and the epoch
    /// number, so a resumed run sees exactly the batches an uninterrupted one would), the
    /// learning rate from `schedule` (over this call's epochs), validation and test metrics
    /// after every epoch, a checkpoint after every epoch (atomic; never from non-finite
    /// params), early stopping that restores and saves the best epoch, and `callbacks`.
    /// `metrics` (classifiers only) are computed from each validation and test evaluation and
    /// recorded in the history, the epoch line and the report.
    /// `progress` prints a progress bar and one line per epoch (`.automatic`: the bar only on
    /// a terminal); `report` writes the HTML report there, rewritten after every epoch (`ReportWriter`).
    ///
    /// A NaN or infinite loss stops training with an error naming the epoch and batch; with
    /// `checkNumerics` the step is replayed op by op to name the first non-finite value.
    @discardableResult
    public func fit(_ data: Dataset, epochs: Int, validation: ValidationData = .fraction(0.1), test: Dataset? = nil,
                    schedule: LearningRateSchedule = .constant, earlyStopping: EarlyStopping? = nil,
                    checkpoint: CheckpointPolicy? = nil, callbacks: [TrainingCallback] = [], progress: ProgressStyle = .automatic,
                    report: String? = nil, seed: UInt64 = 0, checkNumerics: Bool = false, metrics: [Metric] = []) throws -> TrainingHistory {
        guard epochs >= 1 else { throw Diagnostic("fit: epochs must be at least 1, got \(epochs)") }
        try Metric.check(metrics)
        if !metrics.isEmpty && !isClassifier {
            throw Diagnostic("fit: metrics (\(metrics.map(\.name).joined(separator: ", "))) need a classifier: an output declared 'as logits' and an i32 label input")
        }
        // Fail before training, not after it, when the report cannot be written.
        if let report { try AtomicFile.makeDirectory(report) }
        let (train, held) = try Self.split(data, validation, seed: seed)
        let plan = try feedPlan(for: train)
        if held.count > 0 { _ = try feedPlan(for: held) }
        if let test { _ = try feedPlan(for: test) }
        // Labels are checked now, per split: a bad test label used to fail after a whole epoch,
        // without saying which split held it.
        for (split, set) in [("training", train), ("validation", held), ("test", test)] {
            if let set, set.count > 0 { try checkLabels(set, split: split) }
        }
        var firstEpoch = 1
        if let checkpoint, checkpoint.resume {
            let metadata = try loadCheckpoint(from: checkpoint.path)
            let text = metadata["kiln.epoch"] ?? "0"
            guard let saved = Int(text), (0...Self.maximumCheckpointEpoch).contains(saved) else {
                throw Diagnostic("checkpoint '\(checkpoint.path)': kiln.epoch '\(text)' is not an integer in 0...\(Self.maximumCheckpointEpoch)")
            }
            firstEpoch = saved + 1
        }
        var observers = callbacks
        if progress != .silent { observers.insert(ConsoleProgress(style: progress), at: 0) }
        if let report { observers.append(ReportWriter(directory: report, test: test ?? held)) }
        let info = TrainingPlan(trainCount: train.count, validationCount: held.count, testCount: test?.count ?? 0, firstEpoch: firstEpoch,
                                lastEpoch: firstEpoch + epochs - 1, feeds: plan, resumedFrom: checkpoint?.resume == true ? checkpoint?.path : nil)
        for observer in observers { try observer.trainingWillBegin(trainer: self, plan: info) }
        var early = earlyStopping.map { EarlyStopping(patience: $0.patience, firstEpoch: firstEpoch) }
        if early != nil && held.count == 0 { throw Diagnostic("fit: early stopping needs validation data") }
        let baseRate = optimizer.learningRate
        var history = TrainingHistory()
        for epoch in firstEpoch..<(firstEpoch + epochs) {
            learningRate = Float(schedule.rate(base: baseRate, epoch: epoch - firstEpoch))
            let perStep = schedule.isPerStep ? { (progress: Double) in schedule.rate(base: baseRate, epoch: epoch - firstEpoch, progress: progress) } : nil
            var record = try trainEpoch(epoch, train, plan: plan, seed: seed, checkNumerics: checkNumerics,
                                        checkpoint: checkpoint?.path, observers: observers, rate: perStep)
            if held.count > 0 {
                if isClassifier {
                    let e = try evaluate(held)
                    (record.validationLoss, record.validationAccuracy) = (e.loss, e.accuracy)
                    record.validationMetrics = e.values(of: metrics)
                } else {
                    record.validationLoss = try evaluateLoss(held)
                }
            }
            if !monitoredOutputs.isEmpty {
                // As many training examples as validation ones (at least one batch), so that the
                // two means are equally noisy and the epoch is not lengthened by a whole pass.
                let trainValues = try evaluateMonitored(train, limit: Swift.max(held.count, batchSize))
                let heldValues = held.count > 0 ? try evaluateMonitored(held) : [:]
                record.monitored = monitoredOutputs.map { MonitoredValue(name: $0, train: trainValues[$0] ?? .nan, validation: heldValues[$0]) }
            }
            if let test {
                if isClassifier {
                    let e = try evaluate(test)
                    (record.testLoss, record.testAccuracy) = (e.loss, e.accuracy)
                    record.testMetrics = e.values(of: metrics)
                } else {
                    record.testLoss = try evaluateLoss(test)
                }
            }
            history.epochs.append(record)
            if let path = checkpoint?.path { try saveCheckpoint(to: path, metadata: ["kiln.epoch": String(epoch)]) }
            var stop = false
            if let v = record.validationLoss, early != nil, case .stop(let bestEpoch)? = early?.record(epoch: epoch, loss: v, state: state, steps: stepCount) {
                guard bestEpoch != nil, let kept = early?.best else {
                    throw Diagnostic("early stop: no finite validation loss in \(early?.patience ?? 0) epochs")
                }
                state = kept.state
                history.restoredEpoch = kept.epoch
                if let path = checkpoint?.path {
                    // Save what is restored, so the file holds the best params, not the last.
                    try saveCheckpoint(to: path, metadata: ["kiln.epoch": String(kept.epoch), "kiln.best_epoch": String(kept.epoch)])
                }
                stop = true
            }
            for observer in observers { try observer.epochDidEnd(record, trainer: self) }
            if stop { break }
        }
        for observer in observers { try observer.trainingDidEnd(history, trainer: self) }
        return history
    }

    /// One pass over shuffled batches; the record's evaluation fields are left empty. `rate`
    /// (a per-step schedule) gives the learning rate after a fraction of the epoch's steps; the
    /// record keeps the epoch's first rate.
    private func trainEpoch(_ epoch: Int, _ train: Dataset, plan: FeedPlan, seed: UInt64, checkNumerics: Bool,
                            checkpoint: String?, observers: [TrainingCallback], rate: ((Double) -> Double)? = nil) throws -> EpochRecord {
        let batches = train.trainingBatches(size: batchSize, seed: seed &+ UInt64(epoch))
        let start = monotonicSeconds()
        var total = 0.0
        if let rate { learningRate = Float(rate(0)) }
        let epochRate = learningRate
        for (i, batch) in batches.enumerated() {
            if let rate { learningRate = Float(rate(Double(i) / Double(batches.count))) }
            // The state before the step, for the replay (holding it keeps the backend from
            // recycling those buffers, hence only with checkNumerics).
            let before = checkNumerics ? state : [:]
            let value: Double
            do {
                let fed = try augmentation.map { try $0.apply(batch, seed: seed, step: stepCount) } ?? batch
                value = Double(try step(fed, plan: plan))
            } catch let d as Diagnostic {
                var origin = ""
                if checkNumerics, let first = try? firstNonFinite(batch: batch, state: before, step: stepCount - 1) {
                    origin = "; first non-finite value: \(first)"
                }
                let kept = checkpoint.flatMap { FileManager.default.fileExists(atPath: $0) ? ", '\($0)' keeps the last finite epoch" : nil } ?? ""
                throw Diagnostic("epoch \(epoch), batch \(i + 1) of \(batches.count): \(d.message)\(origin); stopped\(kept)")
            }
            total += value
            for observer in observers { observer.batchDidEnd(epoch: epoch, batch: i + 1, of: batches.count, loss: value, seconds: monotonicSeconds() - start) }
        }
        return EpochRecord(epoch: epoch, learningRate: Double(epochRate), trainLoss: total / Double(Swift.max(batches.count, 1)),
                           seconds: monotonicSeconds() - start, steps: batches.count)
    }

    private static func split(_ data: Dataset, _ validation: ValidationData, seed: UInt64) throws -> (Dataset, Dataset) {
        switch validation {
        case .none:
            return (data, data.split(validationFraction: 0, seed: seed).validation)
        case .dataset(let held):
            return (data, held)
        case .fraction(let fraction):
            guard fraction.isFinite, fraction >= 0, fraction < 1 else {
                throw Diagnostic("validation fraction must be in [0, 1), got \(fraction)")
            }
            let (train, held) = data.split(validationFraction: fraction, seed: seed)
            guard train.count > 0 else { throw Diagnostic("validation fraction \(fraction) leaves no training examples out of \(data.count)") }
            if fraction > 0 && held.count == 0 {
                throw Diagnostic("validation fraction \(fraction) of \(data.count) examples holds out none; raise it or use more data")
            }
            return (train, held)
        }
    }
}

extension Trainer {
    /// Throws unless every label of `data` indexes a column of the logits output, naming the
    /// split, the array and the first bad row. A graph that is not a classifier has nothing to check.
    func checkLabels(_ data: Dataset, split: String) throws {
        guard let logits, let labelInput, let classes = forward.valueTypes[logits]?.shape.dims.last,
              let array = try feedPlan(for: data).array(for: labelInput.name), let labels = data[array], labels.dtype == .i32 else { return }
        let p = labels.intPointer
        for row in 0..<labels.elementCount where !(0..<classes).contains(Int(p[row])) {
            throw Diagnostic("\(split) split: label \(p[row]) in row \(row) of '\(array)' is outside the \(classes) classes of output '\(logits)'")
        }
    }
}
