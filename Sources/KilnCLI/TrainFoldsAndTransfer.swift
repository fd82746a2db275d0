import ArgumentParser
import Foundation
import KilnData
import KilnIR
import KilnTraining

extension Train {
    /// Checks of --augment, --folds, --init-from and --freeze that need no graph.
    func validateCourseOptions() throws {
        if distributed && (augment != nil || folds != nil || initFrom != nil || freeze != nil) {
            throw ValidationError("--distributed cannot be combined with --augment, --folds, --init-from or --freeze (the data-parallel trainer does not take them)")
        }
        if let folds {
            guard (2...100).contains(folds) else { throw ValidationError("--folds must be between 2 and 100, got \(folds)") }
            if checkpoint != nil || resume { throw ValidationError("--folds trains one model per fold: it cannot be combined with --checkpoint or --resume") }
            if report != nil { throw ValidationError("--folds cannot be combined with --report") }
        }
        if let initFrom {
            guard FileManager.default.fileExists(atPath: initFrom) else { throw ValidationError("--init-from: '\(initFrom)' does not exist") }
            if resume { throw ValidationError("--init-from and --resume are exclusive (--resume restores everything from --checkpoint)") }
        }
        if let freeze, freeze.isEmpty { throw ValidationError("--freeze needs names or globs, e.g. --freeze enc_*,w1") }
    }

    /// `--folds K`: each fold trains a fresh model (seeded by --seed and the fold) on the other
    /// k − 1 parts of the training data, validates on its own part, and reports; then mean ± std.
    func crossValidate(_ k: Int, _ splits: DatasetFiles.Splits, _ makeTrainer: (UInt64) throws -> Trainer) throws {
        let schedule = try LearningRateSchedule.parse(self.schedule, epochs: epochs)
        do {
            let result = try CrossValidation.run(splits.train, folds: k, seed: seed, makeTrainer: { fold in
                print("== fold \(fold + 1) of \(k)")
                return try makeTrainer(seed &+ UInt64(fold))
            }, train: { trainer, train, held in
                try trainer.fit(train, epochs: epochs, validation: .dataset(held), schedule: schedule,
                                earlyStopping: patience.map { EarlyStopping(patience: $0) }, seed: seed, checkNumerics: checkNumerics)
            })
            print(result.text)
        } catch let d as Diagnostic {
            throw CLIError(d.message)
        }
    }
}
