import Foundation
import KilnData
import KilnIR
import KilnRuntime

/// What `report:` in `fit` (and `kiln train --report DIR`) writes: training curves (SVG), a
/// sample grid (PNG), for classifiers the per-class metrics, confusion matrix and one-vs-rest
/// ROC AUC, and an `index.html` tying them together. Which pictures appear follows the
/// graph's declared output roles (`as logits`, `as reconstruction`), not its names.
public struct TrainingReport {
    public var history: TrainingHistory

    public init(history: TrainingHistory) { self.history = history }

    public func write(to directory: String, trainer: Trainer, test: Dataset) throws {
        try AtomicFile.makeDirectory(directory)
        let epochs = history.epochs
        let graphName = trainer.forward.name
        let classifier = trainer.isClassifier
        var html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Kiln: \(graphName)</title></head>"
        html += "<body style=\"font-family:sans-serif;max-width:900px;margin:auto\"><h1>\(graphName)</h1>"
        html += "<p>\(trainer.optimizer), batch \(trainer.batchSize), \(epochs.count) epochs, \(trainer.stepCount) steps, backend \(trainer.backend.rawValue).</p>"
        let losses = Pictures.lineChart(title: "loss per epoch", series: [("train", epochs.map(\.trainLoss)),
                                                                         ("validation", epochs.map { $0.validationLoss ?? .nan })] +
                                        (classifier ? [] : [("test", epochs.map { $0.testLoss ?? .nan })]))
        try AtomicFile.write(losses, to: "\(directory)/loss.svg")
        html += "<h2>Loss</h2><img src=\"loss.svg\">"
        if classifier {
            try AtomicFile.write(Pictures.lineChart(title: "accuracy per epoch", series: [("validation", epochs.map { $0.validationAccuracy ?? .nan }),
                                                                                          ("test", epochs.map { $0.testAccuracy ?? .nan })]),
                                 to: "\(directory)/accuracy.svg")
            html += "<h2>Accuracy</h2><img src=\"accuracy.svg\">"
            let evaluation = try trainer.evaluate(test)
            let metrics = ClassificationMetrics(predictions: evaluation.predictions, labels: evaluation.labels, classes: evaluation.classes)
            let names = evaluation.classes == 10 ? FashionMNIST.classNames : nil
            var text = metrics.report(classNames: names)
            text += "one-vs-rest ROC AUC\n"
            for c in 0..<evaluation.classes {
                let scores = stride(from: c, to: evaluation.probabilities.count, by: evaluation.classes).map { evaluation.probabilities[$0] }
                text += String(format: "  %@: %.4f\n", names?[c] ?? "class \(c)", ROCCurve(scores: scores, positives: evaluation.labels.map { Int($0) == c }).auc)
            }
            try AtomicFile.write(text, to: "\(directory)/metrics.txt")
            html += "<h2>Metrics</h2><pre>\(text)</pre>"
        }
        if let (grid, caption) = try sampleGrid(trainer: trainer, test: test) {
            try AtomicFile.write(grid, to: "\(directory)/samples.png")
            html += "<h2>Samples</h2><p>\(caption)</p><img src=\"samples.png\" style=\"image-rendering:pixelated;width:600px\">"
        }
        try AtomicFile.write(html + "</body></html>\n", to: "\(directory)/index.html")
    }

    /// Test images of 28×28, and for graphs with an output declared `as reconstruction` of
    /// the input's size, their reconstructions.
    private func sampleGrid(trainer: Trainer, test: Dataset) throws -> ([UInt8], String)? {
        guard let input = trainer.featureInput, let batch = test.evaluationBatches(size: trainer.batchSize).first else { return nil }
        let plan = try trainer.feedPlan(for: test)
        let size = input.type.elementCount / trainer.batchSize
        guard size == 784, let array = plan.array(for: input.name), let features = batch[array] else { return nil }
        let images = (0..<Swift.min(16, batch.count)).map { Array(UnsafeBufferPointer(start: features.floatPointer + $0 * size, count: size)) }
        let outputs = try trainer.outputs(for: batch, plan: plan)
        guard let name = trainer.forward.output(withRole: .reconstruction), let produced = outputs[name],
              produced.elementCount == features.elementCount else {
            return (try Pictures.grid(images, side: 28, columns: 8), "The first test images.")
        }
        let made = (0..<images.count).map { Array(UnsafeBufferPointer(start: produced.floatPointer + $0 * size, count: size)) }
        var rows: [[Float]] = []
        for start in stride(from: 0, to: images.count, by: 8) {
            rows += images[start..<Swift.min(start + 8, images.count)]
            rows += made[start..<Swift.min(start + 8, made.count)]
        }
        return (try Pictures.grid(rows, side: 28, columns: 8), "Test images (odd rows) and their reconstructions '\(name)' (even rows).")
    }
}

/// Writes the report when training ends (used by `fit(report:)`).
final class ReportWriter: TrainingCallback {
    let directory: String
    let test: Dataset

    init(directory: String, test: Dataset) {
        self.directory = directory
        self.test = test
    }

    func trainingDidEnd(_ history: TrainingHistory, trainer: Trainer) throws {
        try TrainingReport(history: history).write(to: directory, trainer: trainer, test: test)
        print("report written to \(directory)/index.html")
    }
}
