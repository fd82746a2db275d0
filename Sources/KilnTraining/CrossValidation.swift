import Foundation
import KilnData
import KilnIR

/// k-fold cross-validation (`kiln train --folds K`): each fold trains a fresh model on the other
/// k − 1 parts of a seeded shuffle and is scored on its own part, so every example is
/// validated on exactly once.
public struct CrossValidation {
    /// One fold's final validation metrics.
    public struct Fold: Sendable, Equatable {
        public var index: Int
        public var trainCount: Int
        public var validationCount: Int
        public var validationLoss: Double
        public var validationAccuracy: Double?
    }

    public var folds: [Fold] = []

    /// Mean and (population) standard deviation of the folds' values.
    public static func meanAndStd(_ values: [Double]) -> (mean: Double, std: Double) {
        guard !values.isEmpty else { return (.nan, .nan) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        return (mean, variance.squareRoot())
    }

    /// Runs `k` folds of `data`. `makeTrainer(fold)` builds a fresh trainer (new params) for
    /// each fold, `train(trainer, train, validation)` trains it (e.g. `fit` with
    /// `.dataset(validation)`), and the fold is scored on its validation part afterwards.
    public static func run(_ data: Dataset, folds k: Int, seed: UInt64, makeTrainer: (Int) throws -> Trainer,
                           train: (Trainer, Dataset, Dataset) throws -> Void) throws -> CrossValidation {
        var result = CrossValidation()
        for (index, split) in try data.folds(k, seed: seed).enumerated() {
            let trainer = try makeTrainer(index)
            try train(trainer, split.train, split.validation)
            var fold = Fold(index: index + 1, trainCount: split.train.count, validationCount: split.validation.count,
                            validationLoss: .nan, validationAccuracy: nil)
            if trainer.isClassifier {
                let e = try trainer.evaluate(split.validation)
                (fold.validationLoss, fold.validationAccuracy) = (e.loss, e.accuracy)
            } else {
                fold.validationLoss = try trainer.evaluateLoss(split.validation)
            }
            result.folds.append(fold)
        }
        return result
    }

    /// One line per fold and the mean ± std lines.
    public var text: String {
        var lines = folds.map { f in
            "fold \(f.index) of \(folds.count): \(f.trainCount) train, \(f.validationCount) validation: loss "
                + String(format: "%.4f", f.validationLoss) + (f.validationAccuracy.map { String(format: ", accuracy %.4f", $0) } ?? "")
        }
        let loss = Self.meanAndStd(folds.map(\.validationLoss))
        lines.append(String(format: "validation loss over %d folds: %.4f ± %.4f", folds.count, loss.mean, loss.std))
        let accuracies = folds.compactMap(\.validationAccuracy)
        if accuracies.count == folds.count, !accuracies.isEmpty {
            let a = Self.meanAndStd(accuracies)
            lines.append(String(format: "validation accuracy over %d folds: %.4f ± %.4f", folds.count, a.mean, a.std))
        }
        return lines.joined(separator: "\n")
    }
}
