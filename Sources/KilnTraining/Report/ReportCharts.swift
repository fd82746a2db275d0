import KilnData

/// The report's training curves: loss (train, validation; test too for graphs that do not
/// classify), accuracy (validation, test) and the learning rate, per epoch with epoch ticks,
/// the restored epoch marked when early stopping stopped the run.
enum ReportCharts {
    static func section(_ history: TrainingHistory, classifier: Bool) -> ReportSection {
        let epochs = history.epochs
        let marker = history.restoredEpoch.map { (x: Double($0), label: "best: epoch \($0) (restored)") }
        func chart(_ title: String, _ y: String, _ series: [LineChart.Series]) -> String {
            var c = LineChart(title: title, xLabel: "epoch", yLabel: y, series: series.filter { s in s.points.contains { $0.y.isFinite } })
            c.integerX = true
            c.marker = marker
            // Three to a row on the page.
            (c.width, c.height) = (372, 280)
            if let first = epochs.first?.epoch, let last = epochs.last?.epoch {
                // A one-epoch run still gets an axis around its single point.
                c.xRange = Double(first == last ? first - 1 : first)...Double(first == last ? last + 1 : last)
            }
            return c.svg
        }
        func points(_ name: String, _ value: (EpochRecord) -> Double?) -> LineChart.Series {
            LineChart.Series(name, points: epochs.map { (Double($0.epoch), value($0) ?? .nan) })
        }
        var section = ReportSection(title: "Training curves", html: "")
        var losses = [points("train", { $0.trainLoss }), points("validation", \.validationLoss)]
        if !classifier { losses.append(points("test", \.testLoss)) }
        section.add("loss.svg", text: chart("loss per epoch", "mean loss", losses))
        var html = "<div class=\"row\"><img src=\"loss.svg\" alt=\"loss per epoch\">"
        if classifier {
            section.add("accuracy.svg", text: chart("accuracy per epoch", "accuracy", [points("validation", \.validationAccuracy),
                                                                                        points("test", \.testAccuracy)]))
            html += "<img src=\"accuracy.svg\" alt=\"accuracy per epoch\">"
        }
        section.add("learning-rate.svg", text: chart("learning rate per epoch", "learning rate", [points("learning rate", { $0.learningRate })]))
        html += "<img src=\"learning-rate.svg\" alt=\"learning rate per epoch\"></div>\n"
        html += table(history, classifier: classifier)
        section.html = html
        return section
    }

    /// The same numbers as a table, for reading exact values.
    static func table(_ history: TrainingHistory, classifier: Bool) -> String {
        func cell(_ v: Double?, _ format: String = "%.4f") -> String { v.map { String(format: format, $0) } ?? "–" }
        var out = "<table><tr><th>epoch</th><th>learning rate</th><th>train loss</th><th>validation loss</th>"
        out += classifier ? "<th>validation accuracy</th><th>test accuracy</th>" : "<th>test loss</th>"
        // Metric columns from the first epoch's names (every epoch computes the same metrics).
        let validationNames = history.epochs.first?.validationMetrics.map(\.name) ?? []
        let testNames = history.epochs.first?.testMetrics.map(\.name) ?? []
        for name in validationNames { out += "<th>validation \(SVG.escape(name))</th>" }
        for name in testNames { out += "<th>test \(SVG.escape(name))</th>" }
        out += "<th>seconds</th><th>steps/s</th></tr>\n"
        for r in history.epochs {
            let mark = r.epoch == history.restoredEpoch ? " (restored)" : ""
            out += "<tr><td>\(r.epoch)\(mark)</td><td>\(cell(r.learningRate, "%.3g"))</td><td>\(cell(r.trainLoss))</td><td>\(cell(r.validationLoss))</td>"
            out += classifier ? "<td>\(cell(r.validationAccuracy))</td><td>\(cell(r.testAccuracy))</td>" : "<td>\(cell(r.testLoss))</td>"
            for name in validationNames { out += "<td>\(cell(r.validationMetrics.first { $0.name == name }?.value))</td>" }
            for name in testNames { out += "<td>\(cell(r.testMetrics.first { $0.name == name }?.value))</td>" }
            out += "<td>\(cell(r.seconds, "%.1f"))</td><td>\(cell(Double(r.steps) / max(r.seconds, 1e-9), "%.1f"))</td></tr>\n"
        }
        return out + "</table>"
    }
}
