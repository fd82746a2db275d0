import Foundation
import KilnData

/// The report's table of monitored scalar outputs (`Trainer.monitoredOutputs`: an RBM's
/// reconstruction error and free energy) per epoch, on training and validation data, with the
/// gap between them.
enum MonitoredSection {
    static func section(_ history: TrainingHistory) -> ReportSection? {
        let epochs = history.epochs.filter { !$0.monitored.isEmpty }
        guard let names = epochs.first?.monitored.map(\.name) else { return nil }
        func cell(_ v: Double?) -> String { v.map { "<td>" + formatted($0) + "</td>" } ?? "<td>–</td>" }
        var html = "<p class=\"note\">Scalar outputs other than the loss after every epoch, in evaluation mode, on the validation set and on as many "
            + "training examples; gap = validation − train (for an RBM's free energy, a gap that grows is overfitting).</p>\n<table>\n<tr><th>epoch</th>"
        for name in names { html += "<th>\(SVG.escape(name)) train</th><th>validation</th><th>gap</th>" }
        html += "</tr>\n"
        for record in epochs {
            html += "<tr><td>\(record.epoch)</td>"
            for name in names {
                let value = record.monitored.first { $0.name == name }
                html += cell(value?.train) + cell(value?.validation) + cell(value?.gap)
            }
            html += "</tr>\n"
        }
        return ReportSection(title: "Monitored outputs", html: html + "</table>")
    }

    /// Four significant digits, without exponent noise for ordinary magnitudes.
    static func formatted(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "∞" : "−∞") }
        return String(format: abs(v) >= 1e-3 || v == 0 ? "%.4f" : "%.3e", v)
    }
}
