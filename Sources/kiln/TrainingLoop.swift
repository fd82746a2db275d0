import Foundation
import KilnData
import KilnIR
import KilnNN
import KilnPasses
import KilnRuntime
import KilnSupport
import KilnTraining

extension Train {
    /// The epoch loop of `kiln train` for a classifier or a model with a loss output.
    func train(_ trainer: Trainer, _ g: Graph) throws {
        // Fail before training, not after it, when the report cannot be written.
        if let report { try AtomicFile.makeDirectory(report) }
        let example = Array(trainer.featureInput.type.shape.dims.dropFirst())
        var full = try FashionMNIST.load(train: true, limit: limit).reshaped(example)
        var test = try FashionMNIST.load(train: false).reshaped(example)
        if standardize {
            let (mean, std) = full.featureStatistics
            full = full.standardized(mean: mean, std: std)
            test = test.standardized(mean: mean, std: std)
        }
        let (train, held) = full.split(validationFraction: validation, seed: seed)
        guard train.count > 0 else {
            throw CLIError("--validation \(validation) leaves no training examples out of \(full.count)")
        }
        if validation > 0 && held.count == 0 {
            throw CLIError("--validation \(validation) of \(full.count) examples holds out none; raise it or --limit")
        }
        let lrSchedule = try LearningRateSchedule.parse(schedule, epochs: epochs)
        let baseRate = trainer.optimizer.learningRate
        var history = TrainingReport()
        var firstEpoch = 1
        if resume, let checkpoint {
            let metadata = try trainer.loadCheckpoint(from: checkpoint)
            let text = metadata["kiln.epoch"] ?? "0"
            guard let saved = Int(text), (0...Self.maximumCheckpointEpoch).contains(saved) else {
                throw CLIError("checkpoint '\(checkpoint)': kiln.epoch '\(text)' is not an integer in 0...\(Self.maximumCheckpointEpoch)")
            }
            firstEpoch = saved + 1
            print("resumed from \(checkpoint) at epoch \(saved), step \(trainer.stepCount)")
        }
        var early = patience.map { EarlyStopping(patience: $0, firstEpoch: firstEpoch) }
        print("training \(g.name) on Fashion-MNIST: \(train.count) train, \(held.count) validation, \(test.count) test; batch \(trainer.batchSize), \(trainer.optimizer), backend \(backend)")
        for epoch in firstEpoch..<(firstEpoch + epochs) {
            trainer.learningRate = Float(lrSchedule.rate(base: baseRate, epoch: epoch - firstEpoch))
            let batches = train.trainingBatches(size: trainer.batchSize, seed: seed &+ UInt64(epoch))
            let start = monotonicSeconds()
            var running = 0.0, total = 0.0
            for (i, b) in batches.enumerated() {
                let value: Double
                // The state before the step, for the replay (holding it keeps the backend from
                // recycling those buffers, hence only with --check-numerics).
                let before = checkNumerics ? trainer.state : [:]
                do {
                    value = Double(try trainer.step(b))
                } catch let d as Diagnostic {
                    var origin = ""
                    if checkNumerics, let first = try? trainer.firstNonFinite(batch: b, state: before, step: trainer.stepCount - 1) {
                        origin = "; first non-finite value: \(first)"
                    }
                    throw CLIError("epoch \(epoch), batch \(i + 1) of \(batches.count): \(d.message)\(origin); stopped\(checkpoint.flatMap { FileManager.default.fileExists(atPath: $0) ? ", '\($0)' keeps the last finite epoch" : nil } ?? "")")
                }
                total += value
                running = i == 0 ? value : 0.95 * running + 0.05 * value
                if isatty(2) != 0 && (i % 10 == 0 || i == batches.count - 1) {
                    progress(epoch: epoch, done: i + 1, of: batches.count, seconds: monotonicSeconds() - start, loss: running)
                }
            }
            let trainSeconds = monotonicSeconds() - start
            let validationLoss = held.count > 0 ? (trainer.isClassifier ? try trainer.evaluate(held).loss : try trainer.evaluateLoss(held)) : nil
            let testValue = trainer.isClassifier ? try trainer.evaluate(test).accuracy : try trainer.evaluateLoss(test)
            let testSummary = String(format: trainer.isClassifier ? "test accuracy %.4f" : "test loss %.4f", testValue)
            history.epochs.append((total / Double(Swift.max(batches.count, 1)), validationLoss ?? .nan, testValue))
            if isatty(2) != 0 { FileHandleOutput.standardError.write("\r\u{1B}[K") }
            print(String(format: "epoch %d: lr %.3g, train loss %.4f, validation loss %@, %@, %.1f s (%.1f steps/s)",
                         epoch, Double(trainer.learningRate), total / Double(Swift.max(batches.count, 1)),
                         validationLoss.map { String(format: "%.4f", $0) } ?? "-", testSummary,
                         trainSeconds, Double(batches.count) / trainSeconds))
            if let checkpoint { try trainer.saveCheckpoint(to: checkpoint, metadata: ["kiln.epoch": String(epoch)]) }
            if let v = validationLoss, early != nil, case .stop(let bestEpoch)? = early?.record(epoch: epoch, loss: v, state: trainer.state, steps: trainer.stepCount) {
                guard bestEpoch != nil, let kept = early?.best else {
                    throw CLIError("early stop: no finite validation loss in \(patience ?? 0) epochs")
                }
                trainer.state = kept.state
                if let checkpoint {
                    // Save what is restored, so the file holds the best params, not the last.
                    try trainer.saveCheckpoint(to: checkpoint, metadata: ["kiln.epoch": String(kept.epoch), "kiln.best_epoch": String(kept.epoch)])
                }
                print(String(format: "early stop: no better validation loss for %d epochs; restored epoch %d (validation loss %.4f)%@",
                             patience ?? 0, kept.epoch, kept.loss, checkpoint.map { " and saved it to \($0)" } ?? ""))
                break
            }
        }
        if let report {
            try history.write(to: report, trainer: trainer, test: test, graphName: g.name)
            print("report written to \(report)/index.html")
        }
    }

    private func progress(epoch: Int, done: Int, of total: Int, seconds: Double, loss: Double) {
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        FileHandleOutput.standardError.write(String(format: "\repoch %d [%@] %d/%d  %.1f steps/s  loss %.4f",
                                                    epoch, bar, done, total, Double(done) / Swift.max(seconds, 1e-9), loss))
    }
}
