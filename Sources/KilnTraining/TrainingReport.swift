import Foundation
import KilnData
import KilnIR
import KilnRuntime

/// What `fit(report:)` (and `kiln train --report DIR`) writes into a directory: `index.html`
/// with the training curves (`loss.svg`, `accuracy.svg`, `learning-rate.svg`); for
/// classifiers test samples with true and predicted class names, the most confident mistakes,
/// the confusion matrix (`confusion.svg`), ROC curves (`roc.svg`) and `metrics.txt`; for
/// generative models reconstructions and samples per epoch; first-layer filters; and the
/// compiled training graph (`graph.svg`, `graph.dot`) with its memory plan and kernel profile.
///
/// Which pictures appear follows the output roles the graph declares (`as logits`,
/// `as reconstruction`, `as sample`), never output names. `ReportWriter` rewrites it after
/// every epoch while training runs.
public struct TrainingReport {
    public var history: TrainingHistory
    /// While training runs: the last finished epoch and the last epoch planned; the page then
    /// reloads itself every `refreshSeconds`. Nil for the final page.
    public var running: (epoch: Int, of: Int)?
    public var refreshSeconds = 5
    /// The compiled model's section (rendered once per run); nil leaves it out.
    public var model: ModelSection?
    /// Generated samples after each epoch (graphs with an output `as sample`).
    public var sampleGrids: [(epoch: Int, png: [UInt8])] = []
    /// How many test images the sample grid shows.
    public var sampleCount = 32

    public init(history: TrainingHistory) { self.history = history }

    /// Writes the report (every file atomically, `index.html` last) for `trainer`'s current
    /// state, with `test` as the examples shown and measured.
    public func write(to directory: String, trainer: Trainer, test: Dataset) throws {
        try page(trainer: trainer, test: test).write(to: directory)
    }

    /// The page and its files, without writing them.
    public func page(trainer: Trainer, test: Dataset) throws -> ReportPage {
        let graph = trainer.forward
        let epochs = history.epochs
        var summary = "\(trainer.optimizer), batch \(trainer.batchSize), backend \(trainer.backend.rawValue), \(trainer.stepCount) steps"
        if let first = epochs.first?.epoch, let last = epochs.last?.epoch { summary += ", epochs \(first)–\(last)" }
        summary += "; \(test.count) test examples."
        let status: String
        if let running {
            status = running.epoch == 0 ? "training: waiting for the first epoch of \(running.of)" : "training: epoch \(running.epoch) of \(running.of) done"
        } else if let restored = history.restoredEpoch {
            status = "finished: early stopping restored epoch \(restored) (the best validation loss) after \(epochs.last?.epoch ?? restored) epochs"
        } else {
            status = "finished after \(epochs.count) epoch\(epochs.count == 1 ? "" : "s")"
        }
        var sections: [ReportSection] = []
        if epochs.isEmpty {
            sections.append(ReportSection(title: "Training curves", html: "<p class=\"note\">The first epoch has not finished yet.</p>"))
        } else {
            sections.append(ReportCharts.section(history, classifier: trainer.isClassifier))
            if let monitored = MonitoredSection.section(history) { sections.append(monitored) }
            sections += try pictures(trainer: trainer, test: test, graph: graph)
        }
        if let model { sections.append(model.section) }
        return ReportPage(title: graph.name, summary: summary, status: status, refreshSeconds: running == nil ? nil : refreshSeconds,
                          sections: sections)
    }

    /// Classifier, generative and filter pictures for the current state.
    private func pictures(trainer: Trainer, test: Dataset, graph: Graph) throws -> [ReportSection] {
        var sections: [ReportSection] = []
        let images = ReportImages(trainer: trainer, dataset: test)
        if trainer.isClassifier && test.count > 0 {
            let evaluation = try trainer.evaluate(test)
            sections += try ClassifierSection(evaluation: evaluation, classNames: test.classNames, images: images)
                .sections(sampleCount: sampleCount)
        }
        if let batch = test.evaluationBatches(size: trainer.batchSize).first,
           graph.output(withRole: .reconstruction) != nil || graph.output(withRole: .sample) != nil {
            let outputs = try trainer.outputs(for: batch, plan: try trainer.feedPlan(for: test))
            if let section = try GenerativeSection.reconstructions(graph: graph, outputs: outputs, inputs: images) { sections.append(section) }
            if let name = graph.output(withRole: .sample) {
                var grids = sampleGrids
                if grids.isEmpty, let png = try GenerativeSection.sampleGrid(graph: graph, outputs: outputs) {
                    grids = [(history.epochs.last?.epoch ?? 0, png)]
                }
                if let section = GenerativeSection.samples(grids, output: name) { sections.append(section) }
            }
        }
        if let hint = GenerativeSection.undeclaredHint(graph: graph) {
            sections.append(ReportSection(title: "Reconstructions", html: "<p class=\"note\">No pictures: \(SVG.escape(hint)).</p>"))
        }
        if images != nil, let filters = try GenerativeSection.filters(graph: graph, state: trainer.state) { sections.append(filters) }
        return sections
    }
}
