import Foundation
import KilnData
import KilnIR
import KilnRuntime
import KilnTraining

extension Train {
    /// The data `kiln train` trains on: Fashion-MNIST (arrays `images` and `labels`, its own
    /// test split) or the arrays of `--data PATH` (`NAME_test` / `NAME_val` arrays form the
    /// test / validation splits), optionally standardised with the training statistics.
    func loadData() throws -> DatasetFiles.Splits {
        var splits: DatasetFiles.Splits
        if data == Self.fashionMNIST {
            splits = DatasetFiles.Splits(train: try FashionMNIST.load(train: true, limit: limit), validation: nil,
                                         test: try FashionMNIST.load(train: false))
        } else {
            // Within the memory budget, checked before reading or inflating (a deflate bomb).
            splits = try DatasetFiles.load(data, limit: try budget().bytes)
            if let limit, limit < splits.train.count { splits.train = try splits.train.subset(Array(0..<limit)) }
        }
        guard standardize else { return splits }
        for name in splits.train.names {
            guard let (mean, std) = splits.train.statistics(of: name) else { continue }
            splits.train = try splits.train.standardized(name, mean: mean, std: std)
            splits.validation = try splits.validation.map { try $0.standardized(name, mean: mean, std: std) }
            splits.test = try splits.test.map { try $0.standardized(name, mean: mean, std: std) }
        }
        return splits
    }

    /// `--feed input=array,…` as a mapping.
    func feedMapping() throws -> [String: String] {
        guard let feed else { return [:] }
        var mapping: [String: String] = [:]
        for item in feed.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw CLIError("--feed: '\(item)' is not INPUT=ARRAY (e.g. --feed x=images,labels=labels)")
            }
            guard mapping[parts[0]] == nil else { throw CLIError("--feed: input '\(parts[0])' is fed twice") }
            mapping[parts[0]] = parts[1]
        }
        return mapping
    }

    /// The epoch loop of `kiln train`: `Trainer.fit` with the command's options.
    func train(_ trainer: Trainer, _ splits: DatasetFiles.Splits) throws {
        let validationData: ValidationData = splits.validation.map { .dataset($0) } ?? .fraction(validation)
        do {
            try trainer.fit(splits.train, epochs: epochs, validation: validationData, test: splits.test,
                            schedule: try LearningRateSchedule.parse(schedule, epochs: epochs),
                            earlyStopping: patience.map { EarlyStopping(patience: $0) },
                            checkpoint: checkpoint.map { CheckpointPolicy(path: $0, resume: resume) },
                            report: report, seed: seed, checkNumerics: checkNumerics,
                            metrics: topK.map { [.topK($0)] } ?? [])
        } catch let d as Diagnostic {
            throw CLIError(d.message)
        }
        if let saveModel {
            // Class names only when they match the logits (a data set's names for another head are not this model's).
            do {
                let names = splits.train.classNames ?? []
                let classes = trainer.logits.flatMap { trainer.forward.valueTypes[$0]?.shape.dims.last }
                try Model(trainer, classNames: names.count == classes ? names : []).save(to: saveModel)
            } catch let d as Diagnostic {
                throw CLIError("--save-model: \(d.message)")
            }
            print("model saved to \(saveModel)")
        }
    }
}
