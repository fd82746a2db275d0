import Foundation
import KilnData

/// The classifier's part of the report, from an evaluation of the test set: a grid of test
/// images with true and predicted class names (mistakes outlined in red), the most confident
/// mistakes, the confusion matrix as a heat map, one-vs-rest ROC curves with each class's
/// AUC, and a metrics table with macro and weighted averages (also as `metrics.txt`).
struct ClassifierSection {
    let evaluation: Evaluation
    let classNames: [String]
    let images: ReportImages?
    /// Classes up to which the heat map and ROC curves are drawn.
    static let largestDrawn = 40

    /// `names` from the data set when it has them (and enough), else "class 0", "class 1", ….
    init(evaluation: Evaluation, classNames names: [String]?, images: ReportImages?) {
        self.evaluation = evaluation
        let known = names ?? []
        classNames = (0..<evaluation.classes).map { $0 < known.count ? known[$0] : "class \($0)" }
        self.images = images
    }

    var metrics: ClassificationMetrics {
        ClassificationMetrics(predictions: evaluation.predictions, labels: evaluation.labels, classes: evaluation.classes)
    }

    /// Each class's ROC curve against the rest, from the predicted probabilities.
    var rocCurves: [ROCCurve] {
        let k = evaluation.classes
        return (0..<k).map { c in
            let scores = stride(from: c, to: evaluation.probabilities.count, by: k).map { evaluation.probabilities[$0] }
            return ROCCurve(scores: scores, positives: evaluation.labels.map { Int($0) == c })
        }
    }

    func sections(sampleCount: Int = 32, mistakeCount: Int = 16) throws -> [ReportSection] {
        var result: [ReportSection] = []
        if let images {
            let shown = Array(0..<min(sampleCount, evaluation.predictions.count, images.count))
            result.append(ReportSection(title: "Test samples", html: "<p class=\"note\">The first \(shown.count) test images: true class, then the prediction; mistakes are outlined in red.</p>\n" + (try tiles(shown, images))))
            let mistakes = confidentMistakes(mistakeCount)
            let html = mistakes.isEmpty ? "<p class=\"note\">No test image is misclassified.</p>"
                : "<p class=\"note\">The \(mistakes.count) misclassified test images the model was most sure of, with the probability it gave its wrong answer.</p>\n" + (try tiles(mistakes, images, showConfidence: true))
            result.append(ReportSection(title: "Most confident mistakes", html: html))
        }
        let m = metrics, curves = rocCurves
        var heat = ConfusionHeatMap(confusion: m.confusion, classNames: classNames)
        heat.title = "confusion matrix (\(m.total) test examples)"
        var roc = LineChart(title: "one-vs-rest ROC curves", xLabel: "false-positive rate", yLabel: "true-positive rate",
                            series: curves.enumerated().map { c, curve in
                                LineChart.Series(String(format: "%@ (AUC %.3f)", classNames[c], curve.auc), points: Self.thinned(curve.points))
                            } + [LineChart.Series("chance", points: [(0, 0), (1, 1)], dashed: true)])
        roc.xRange = 0...1
        roc.yRange = 0...1
        roc.width = 640
        roc.height = 420
        var section = ReportSection(title: "Class metrics", html: "")
        section.add("metrics.txt", text: metricsText(m, curves))
        if m.classes <= Self.largestDrawn {
            section.add("confusion.svg", text: heat.svg)
            section.add("roc.svg", text: roc.svg)
            section.html = "<div class=\"row\"><img src=\"confusion.svg\" alt=\"confusion matrix\"><img src=\"roc.svg\" alt=\"ROC curves\"></div>\n"
        } else {
            // n² cells and n curves: unreadable, and megabytes of SVG, past a few dozen classes.
            section.html = "<p class=\"note\">\(m.classes) classes: the confusion matrix and ROC curves are drawn up to \(Self.largestDrawn) classes; the numbers are in the table and metrics.txt.</p>\n"
        }
        section.html += metricsTable(m, curves) + "\n<p class=\"note\">As text: <a href=\"metrics.txt\">metrics.txt</a>.</p>"
        result.append(section)
        return result
    }

    /// Misclassified examples, the most confident first (probability of the wrong class).
    func confidentMistakes(_ count: Int) -> [Int] {
        let k = evaluation.classes
        let wrong = evaluation.predictions.indices.filter { evaluation.predictions[$0] != evaluation.labels[$0] }
        return Array(wrong.sorted { confidence($0, k) > confidence($1, k) }.prefix(count))
    }

    private func confidence(_ i: Int, _ k: Int) -> Float {
        let index = i * k + Int(evaluation.predictions[i])
        return index < evaluation.probabilities.count ? evaluation.probabilities[index] : 0
    }

    private func tiles(_ indices: [Int], _ images: ReportImages, showConfidence: Bool = false) throws -> String {
        var out = "<div class=\"tiles\">\n"
        for i in indices where i < images.count {
            let truth = classNames[Int(evaluation.labels[i])], predicted = classNames[Int(evaluation.predictions[i])]
            let wrong = truth != predicted
            let p = showConfidence ? String(format: " (%.0f%%)", 100 * confidence(i, evaluation.classes)) : ""
            out += "<figure class=\"\(wrong ? "wrong" : "right")\"><img src=\"\(try images.dataURI(i))\" alt=\"test image \(i)\">"
            out += "<figcaption>\(SVG.escape(truth))<br>\(wrong ? "→ " : "✓ ")\(SVG.escape(predicted))\(p)</figcaption></figure>\n"
        }
        return out + "</div>"
    }

    private func metricsTable(_ m: ClassificationMetrics, _ curves: [ROCCurve]) -> String {
        var out = String(format: "<p>accuracy <b>%.4f</b> over %ld test examples</p>\n", m.accuracy, m.total)
        out += "<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>ROC AUC</th><th>support</th></tr>\n"
        for c in 0..<m.classes {
            out += String(format: "<tr><td>%@</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%ld</td></tr>\n",
                          SVG.escape(classNames[c]), m.precision(c), m.recall(c), m.f1(c), curves[c].auc, m.support(c))
        }
        let macroAUC = curves.map(\.auc).reduce(0, +) / Double(max(curves.count, 1))
        let weightedAUC = (0..<m.classes).reduce(0.0) { $0 + Double(m.support($1)) * curves[$1].auc } / Double(max(m.total, 1))
        for (name, a, auc) in [("macro average", m.macroAverage, macroAUC), ("weighted average", m.weightedAverage, weightedAUC)] {
            out += String(format: "<tr class=\"avg\"><td>%@</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%ld</td></tr>\n",
                          name, a.precision, a.recall, a.f1, auc, m.total)
        }
        return out + "</table>"
    }

    private func metricsText(_ m: ClassificationMetrics, _ curves: [ROCCurve]) -> String {
        var text = m.report(classNames: classNames)
        text += "one-vs-rest ROC AUC\n"
        for (c, curve) in curves.enumerated() { text += String(format: "  %@: %.4f\n", classNames[c], curve.auc) }
        return text
    }

    /// At most about 200 points of a curve (first and last kept): 10,000 test examples give
    /// 10,000 steps per class, far more than a 600-pixel chart can show.
    static func thinned(_ points: [(fpr: Double, tpr: Double)]) -> [(x: Double, y: Double)] {
        let step = max(1, points.count / 200)
        var kept = stride(from: 0, to: points.count, by: step).map { (x: points[$0].fpr, y: points[$0].tpr) }
        if let last = points.last, (points.count - 1) % step != 0 { kept.append((last.fpr, last.tpr)) }
        return kept
    }
}
