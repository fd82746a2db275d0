import Foundation
import KilnData
import KilnIR
import KilnRuntime

/// What `kiln train --report DIR` writes: training curves (SVG), a sample grid (PNG), for
/// classifiers the per-class metrics, confusion matrix and one-vs-rest ROC AUC, and an
/// `index.html` tying them together.
public struct TrainingReport {
    public var epochs: [(train: Double, validation: Double, test: Double)] = []

    public init() {}

    public func write(to directory: String, trainer: Trainer, test: Dataset, graphName: String) throws {
        try AtomicFile.makeDirectory(directory)
        let classifier = trainer.isClassifier
        var html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Kiln: \(graphName)</title></head>"
        html += "<body style=\"font-family:sans-serif;max-width:900px;margin:auto\"><h1>\(graphName)</h1>"
        html += "<p>\(trainer.optimizer), batch \(trainer.batchSize), \(epochs.count) epochs, \(trainer.stepCount) steps.</p>"
        let losses = Pictures.lineChart(title: "loss per epoch", series: [("train", epochs.map(\.train)), ("validation", epochs.map(\.validation))] +
                                        (classifier ? [] : [("test", epochs.map(\.test))]))
        try AtomicFile.write(losses, to: "\(directory)/loss.svg")
        html += "<h2>Loss</h2><img src=\"loss.svg\">"
        if classifier {
            try AtomicFile.write(Pictures.lineChart(title: "test accuracy per epoch", series: [("test accuracy", epochs.map(\.test))]),
                                 to: "\(directory)/accuracy.svg")
            html += "<h2>Accuracy</h2><img src=\"accuracy.svg\">"
            let evaluation = try trainer.evaluate(test)
            let metrics = ClassificationMetrics(predictions: evaluation.predictions, labels: evaluation.labels, classes: evaluation.classes)
            var text = metrics.report(classNames: evaluation.classes == 10 ? FashionMNIST.classNames : nil)
            text += "one-vs-rest ROC AUC\n"
            for c in 0..<evaluation.classes {
                let scores = stride(from: c, to: evaluation.probabilities.count, by: evaluation.classes).map { evaluation.probabilities[$0] }
                text += String(format: "  class %d: %.4f\n", c, ROCCurve(scores: scores, positives: evaluation.labels.map { Int($0) == c }).auc)
            }
            try AtomicFile.write(text, to: "\(directory)/metrics.txt")
            html += "<h2>Metrics</h2><pre>\(text)</pre>"
        }
        if let grid = try sampleGrid(trainer: trainer, test: test) {
            try AtomicFile.write(grid, to: "\(directory)/samples.png")
            html += "<h2>Samples</h2><p>\(classifier ? "The first test images." : "Test images (odd rows) and the model's outputs (even rows).")</p><img src=\"samples.png\" style=\"image-rendering:pixelated;width:600px\">"
        }
        try AtomicFile.write(html + "</body></html>\n", to: "\(directory)/index.html")
    }

    /// Test images, and for image-to-image models (an output of the input's size) their outputs.
    private func sampleGrid(trainer: Trainer, test: Dataset) throws -> [UInt8]? {
        guard let batch = test.evaluationBatches(size: trainer.batchSize).first else { return nil }
        let size = trainer.featureInput.type.elementCount / trainer.batchSize
        guard size == 784 else { return nil }
        let images = (0..<Swift.min(16, batch.count)).map { Array(UnsafeBufferPointer(start: batch.features.floatPointer + $0 * size, count: size)) }
        let outputs = try trainer.outputs(for: batch)
        let name = ["decoded", "reconstruction"].first { outputs[$0]?.elementCount == batch.features.elementCount }
        guard let name, let produced = outputs[name] else { return try Pictures.grid(images, side: 28, columns: 8) }
        let made = (0..<images.count).map { Array(UnsafeBufferPointer(start: produced.floatPointer + $0 * size, count: size)) }
        var rows: [[Float]] = []
        for start in stride(from: 0, to: images.count, by: 8) {
            rows += images[start..<Swift.min(start + 8, images.count)]
            rows += made[start..<Swift.min(start + 8, made.count)]
        }
        return try Pictures.grid(rows, side: 28, columns: 8)
    }
}
