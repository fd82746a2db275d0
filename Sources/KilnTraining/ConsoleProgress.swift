import Foundation
import KilnSupport

/// How `fit` reports progress on the terminal.
public enum ProgressStyle: Sendable, Equatable {
    /// A progress bar on standard error when it is a terminal; one line per epoch always.
    case automatic
    /// One line per epoch on standard output, flushed as it happens (logs, pipes).
    case lines
    /// Nothing.
    case silent
}

/// The progress bar (epoch, step, steps/s, running loss, ETA of the epoch and of the run) on
/// a terminal, and one line per epoch, flushed as it is printed (pipes and logs buffer).
final class ConsoleProgress: TrainingCallback {
    let style: ProgressStyle
    private let bar: Bool
    private var running = 0.0
    private var lastEpoch = 0

    init(style: ProgressStyle) {
        self.style = style
        bar = style == .automatic && isatty(2) != 0
    }

    func trainingWillBegin(trainer: Trainer, plan: TrainingPlan) throws {
        lastEpoch = plan.lastEpoch
        if let from = plan.resumedFrom { print("resumed from \(from) at epoch \(plan.firstEpoch - 1), step \(trainer.stepCount)") }
        for warning in trainer.warnings { FileHandleOutput.standardError.write("warning: \(warning)\n") }
        print("training \(trainer.forward.name): \(plan.trainCount) train, \(plan.validationCount) validation, \(plan.testCount) test; batch \(trainer.batchSize), \(trainer.optimizer), backend \(trainer.backend.rawValue); feeds \(plan.feeds)")
    }

    func batchDidEnd(epoch: Int, batch: Int, of batches: Int, loss: Double, seconds: Double) {
        running = batch == 1 ? loss : 0.95 * running + 0.05 * loss
        guard bar, batch % 10 == 0 || batch == batches else { return }
        let width = 30, filled = batches > 0 ? width * batch / batches : width
        let rate = Double(batch) / Swift.max(seconds, 1e-9)
        let eta = Double(batches - batch) / Swift.max(rate, 1e-9)
        let later = Double(Swift.max(lastEpoch - epoch, 0) * batches) / Swift.max(rate, 1e-9)
        let total = lastEpoch > epoch ? " (run \(Self.duration(eta + later)))" : ""
        FileHandleOutput.standardError.write(String(format: "\repoch %ld/%ld [%@] %ld/%ld  %.1f steps/s  loss %.4f  ETA %@%@\u{1B}[K",
                                                    epoch, lastEpoch, String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled),
                                                    batch, batches, rate, running, Self.duration(eta), total))
    }

    func epochDidEnd(_ r: EpochRecord, trainer: Trainer) throws {
        if bar { FileHandleOutput.standardError.write("\r\u{1B}[K") }
        let classifier = trainer.isClassifier
        var parts = [String(format: "epoch %d: lr %.3g, train loss %.4f", r.epoch, r.learningRate, r.trainLoss)]
        parts.append("validation loss " + (r.validationLoss.map { String(format: "%.4f", $0) } ?? "-"))
        if let a = r.validationAccuracy { parts.append(String(format: "validation accuracy %.4f", a)) }
        for m in r.validationMetrics { parts.append("validation \(m.name) " + String(format: "%.4f", m.value)) }
        if classifier, let a = r.testAccuracy { parts.append(String(format: "test accuracy %.4f", a)) }
        for m in r.testMetrics { parts.append("test \(m.name) " + String(format: "%.4f", m.value)) }
        if !classifier, let l = r.testLoss { parts.append(String(format: "test loss %.4f", l)) }
        for m in r.monitored {
            var text = "\(m.name) train " + String(format: "%.4f", m.train)
            if let v = m.validation, let gap = m.gap { text += String(format: " validation %.4f (gap %+.4f)", v, gap) }
            parts.append(text)
        }
        parts.append(String(format: "%.1f s (%.1f steps/s)", r.seconds, Double(r.steps) / Swift.max(r.seconds, 1e-9)))
        print(parts.joined(separator: ", "))
        fflush(stdout)
    }

    func trainingDidEnd(_ history: TrainingHistory, trainer: Trainer) throws {
        guard let restored = history.restoredEpoch, let best = history.epochs.first(where: { $0.epoch == restored }) else { return }
        print(String(format: "early stop: no better validation loss; restored epoch %d (validation loss %.4f)", restored, best.validationLoss ?? .nan))
        fflush(stdout)
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
