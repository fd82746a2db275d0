import Foundation
import KilnData
import KilnIR
import KilnRuntime
import KilnSupport
import KilnTraining

/// Options of a data-parallel `fit` (a subset of `Trainer.fit`'s: no early stopping or callbacks).
public struct DistributedFitOptions {
    public var epochs: Int
    /// Held-out fraction of the training data (a seeded shuffle, the same on every rank), or 0.
    public var validationFraction: Double = 0.1
    /// A given validation set (overrides the fraction).
    public var validation: Dataset?
    public var test: Dataset?
    public var schedule: LearningRateSchedule = .constant
    /// Rank 0 writes it after every epoch (atomically, as `Trainer.saveCheckpoint` does).
    public var checkpoint: CheckpointPolicy?
    /// Rank 0 writes the HTML report here at the end.
    public var report: String?
    public var seed: UInt64 = 0
    /// Print one line per epoch (rank 0 only).
    public var printsProgress = true

    public init(epochs: Int) { self.epochs = epochs }
}

extension DataParallelTrainer {
    /// Trains for `options.epochs` epochs. Each epoch shuffles the whole training set with the
    /// same seed on every rank (`trainingBatches` of the global batch, exactly the batches a
    /// single process with that batch would see) and each rank trains on rows
    /// [rank·B, (rank+1)·B) of every global batch. Validation and test metrics are computed on
    /// each rank's contiguous share of the examples and summed across ranks. Only rank 0 prints,
    /// writes checkpoints and the report; a resumed run reads the checkpoint on rank 0 and
    /// broadcasts it.
    @discardableResult
    public func fit(_ data: Dataset, options: DistributedFitOptions) throws -> TrainingHistory {
        guard options.epochs >= 1 else { throw Diagnostic("fit: epochs must be at least 1, got \(options.epochs)") }
        let rank = reducer.rank, ranks = reducer.size
        let isRoot = rank == 0
        if isRoot, let report = options.report { try AtomicFile.makeDirectory(report) }
        let train: Dataset, held: Dataset
        if let validation = options.validation {
            (train, held) = (data, validation)
        } else {
            (train, held) = data.split(validationFraction: options.validationFraction, seed: options.seed)
        }
        guard train.count > 0 else { throw Diagnostic("fit: no training examples") }
        // Before any collective whose size depends on the command or the data (broadcastState
        // pairs tensors by name, buckets by size): a disagreement is an error naming the rank.
        try RunFingerprint(trainer: trainer, graphs: graphs, options: options, train: train, held: held, ranks: ranks)
            .check(reducer, when: "at start-up")
        let plan = try trainer.feedPlan(for: train)

        // Resume: rank 0 reads the file (other hosts may not have it) and broadcasts.
        var header = [1.0]
        if isRoot, let checkpoint = options.checkpoint, checkpoint.resume {
            let metadata = try trainer.loadCheckpoint(from: checkpoint.path)
            guard let saved = Int(metadata["kiln.epoch"] ?? "0"), (0...Trainer.maximumCheckpointEpoch).contains(saved) else {
                throw Diagnostic("checkpoint '\(checkpoint.path)': kiln.epoch is not an integer in 0...\(Trainer.maximumCheckpointEpoch)")
            }
            header[0] = Double(saved + 1)
        }
        try reducer.broadcast(&header, root: 0)
        try broadcastState()
        let firstEpoch = Int(header[0])

        let local = trainer.batchSize, global = local * ranks
        if isRoot && options.printsProgress {
            print("data-parallel: \(ranks) rank(s) x batch \(local) = global batch \(global); \(train.count) training examples, \(held.count) validation; feeds: \(plan)")
        }
        var history = TrainingHistory()
        let baseRate = trainer.optimizer.learningRate
        for epoch in firstEpoch..<(firstEpoch + options.epochs) {
            trainer.learningRate = Float(options.schedule.rate(base: baseRate, epoch: epoch - firstEpoch))
            let epochRate = trainer.learningRate
            let start = monotonicSeconds()
            let batches = train.trainingBatches(size: global, seed: options.seed &+ UInt64(epoch))
            try RunFingerprint(epoch: epoch, steps: batches.count).check(reducer, when: "at epoch \(epoch)")
            var total = 0.0
            for (i, batch) in batches.enumerated() {
                if options.schedule.isPerStep {
                    // Every rank computes the same rate from the same step count.
                    trainer.learningRate = Float(options.schedule.rate(base: baseRate, epoch: epoch - firstEpoch, progress: Double(i) / Double(batches.count)))
                }
                let shard = try Batch(arrays: Dataset(batch.arrays).subset(Array(rank * local..<(rank + 1) * local)).arrays, count: local)
                do {
                    total += Double(try step(shard, plan: plan))
                } catch let d as Diagnostic {
                    throw Diagnostic("rank \(rank), epoch \(epoch), batch \(i + 1) of \(batches.count): \(d.message)")
                }
            }
            var record = EpochRecord(epoch: epoch, learningRate: Double(epochRate), trainLoss: total / Double(max(batches.count, 1)),
                                     seconds: monotonicSeconds() - start, steps: batches.count)
            if held.count > 0 { (record.validationLoss, record.validationAccuracy) = try reducedEvaluation(held) }
            if let test = options.test { (record.testLoss, record.testAccuracy) = try reducedEvaluation(test) }
            history.epochs.append(record)
            if isRoot, let path = options.checkpoint?.path {
                try trainer.saveCheckpoint(to: path, metadata: ["kiln.epoch": String(epoch), "kiln.ranks": String(ranks)])
            }
            if isRoot && options.printsProgress { print(Self.line(record, classifier: trainer.isClassifier, timings: timings)) }
        }
        if isRoot, let report = options.report {
            try TrainingReport(history: history).write(to: report, trainer: trainer, test: options.test ?? held)
            print("report written to \(report)/index.html")
        }
        return history
    }

    /// Loss and (for classifiers) accuracy over `dataset`, each rank evaluating a contiguous
    /// share and the sums all-reduced, so every rank gets the whole set's metrics.
    public func reducedEvaluation(_ dataset: Dataset) throws -> (loss: Double, accuracy: Double?) {
        let rank = reducer.rank, ranks = reducer.size
        let lower = dataset.count * rank / ranks, upper = dataset.count * (rank + 1) / ranks
        var sums = [0.0, 0.0, Double(upper - lower)]
        if upper > lower {
            let share = try dataset.subset(Array(lower..<upper))
            if trainer.isClassifier {
                let e = try trainer.evaluate(share)
                sums[0] = e.loss * sums[2]
                sums[1] = (e.accuracy * sums[2]).rounded()  // correct predictions, a whole number
            } else {
                sums[0] = try trainer.evaluateLoss(share) * sums[2]
            }
        }
        try reducer.allReduceSum(&sums)
        let n = max(sums[2], 1)
        return (sums[0] / n, trainer.isClassifier ? sums[1] / n : nil)
    }

    static func line(_ r: EpochRecord, classifier: Bool, timings: StepTimings) -> String {
        var parts = [String(format: "epoch %d: lr %.3g, train loss %.4f", r.epoch, r.learningRate, r.trainLoss)]
        parts.append("validation loss " + (r.validationLoss.map { String(format: "%.4f", $0) } ?? "-"))
        if let a = r.validationAccuracy { parts.append(String(format: "validation accuracy %.4f", a)) }
        if classifier, let a = r.testAccuracy { parts.append(String(format: "test accuracy %.4f", a)) }
        if !classifier, let l = r.testLoss { parts.append(String(format: "test loss %.4f", l)) }
        parts.append(String(format: "%.1f s (%.1f steps/s)", r.seconds, Double(r.steps) / max(r.seconds, 1e-9)))
        let t = timings, n = Double(max(t.steps, 1))
        parts.append(String(format: "step %.1f ms = gradients %.1f + all-reduce %.1f + update %.1f", t.totalSeconds / n * 1000,
                            t.gradientSeconds / n * 1000, t.allReduceSeconds / n * 1000, t.updateSeconds / n * 1000))
        return parts.joined(separator: ", ")
    }
}
