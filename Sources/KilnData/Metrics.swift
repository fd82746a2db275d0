import Foundation

/// Classification metrics from predicted and true class indices (and, for ROC, scores).
public struct ClassificationMetrics: Sendable {
    public let classes: Int
    /// confusion[truth][prediction]
    public let confusion: [[Int]]

    public init(predictions: [Int32], labels: [Int32], classes: Int) {
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (p, t) in zip(predictions, labels) where (0..<classes).contains(Int(p)) && (0..<classes).contains(Int(t)) {
            matrix[Int(t)][Int(p)] += 1
        }
        self.classes = classes
        confusion = matrix
    }

    public var total: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }
    public var accuracy: Double {
        total == 0 ? 0 : Double((0..<classes).reduce(0) { $0 + confusion[$1][$1] }) / Double(total)
    }

    /// One-vs-rest counts for class `c`.
    public func counts(_ c: Int) -> (tp: Int, fp: Int, fn: Int, tn: Int) {
        let tp = confusion[c][c]
        let fp = (0..<classes).reduce(0) { $0 + ($1 == c ? 0 : confusion[$1][c]) }
        let fn = confusion[c].reduce(0, +) - tp
        return (tp, fp, fn, total - tp - fp - fn)
    }

    private func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
    public func precision(_ c: Int) -> Double { let k = counts(c); return ratio(k.tp, k.tp + k.fp) }
    public func recall(_ c: Int) -> Double { let k = counts(c); return ratio(k.tp, k.tp + k.fn) }
    public func specificity(_ c: Int) -> Double { let k = counts(c); return ratio(k.tn, k.tn + k.fp) }
    public func f1(_ c: Int) -> Double {
        let p = precision(c), r = recall(c)
        return p + r == 0 ? 0 : 2 * p * r / (p + r)
    }

    /// Examples whose true class is `c`.
    public func support(_ c: Int) -> Int { confusion[c].reduce(0, +) }

    /// Precision, recall and F1 averaged over classes.
    public struct Average: Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var f1: Double

        public init(precision: Double, recall: Double, f1: Double) {
            self.precision = precision
            self.recall = recall
            self.f1 = f1
        }
    }

    /// The unweighted mean over classes: every class counts the same, however rare.
    public var macroAverage: Average { average { _ in 1 } }

    /// The mean over classes weighted by support (true examples per class); weighted recall
    /// equals accuracy.
    public var weightedAverage: Average { average { Double(support($0)) } }

    private func average(_ weight: (Int) -> Double) -> Average {
        let total = (0..<classes).reduce(0.0) { $0 + weight($1) }
        guard total > 0 else { return Average(precision: 0, recall: 0, f1: 0) }
        func mean(_ f: (Int) -> Double) -> Double { (0..<classes).reduce(0.0) { $0 + weight($1) * f($1) } / total }
        return Average(precision: mean(precision), recall: mean(recall), f1: mean(f1))
    }

    /// A text table: per-class precision, recall, specificity, F1 and support, macro and
    /// weighted averages, then the confusion matrix.
    public func report(classNames: [String]? = nil) -> String {
        var out = String(format: "accuracy %.4f over %d examples\n", accuracy, total)
        out += "class                 precision  recall  specificity  f1      support\n"
        func pad(_ name: String) -> String { name.count >= 20 ? name : name + String(repeating: " ", count: 20 - name.count) }
        for c in 0..<classes {
            let name = classNames.map { c < $0.count ? $0[c] : "\(c)" } ?? "\(c)"
            out += pad(name) + String(format: "  %9.4f  %6.4f  %11.4f  %.4f  %7ld\n", precision(c), recall(c), specificity(c), f1(c), support(c))
        }
        for (name, a) in [("macro average", macroAverage), ("weighted average", weightedAverage)] {
            out += pad(name) + String(format: "  %9.4f  %6.4f  %11@  %.4f  %7ld\n", a.precision, a.recall, "", a.f1, total)
        }
        out += "confusion (rows: truth, columns: prediction)\n"
        for row in confusion { out += row.map { String(format: "%5d", $0) }.joined() + "\n" }
        return out
    }
}

/// ROC curve and AUC for one class against the rest, from scores (higher = more likely positive).
public struct ROCCurve: Sendable {
    /// (false-positive rate, true-positive rate) points from (0, 0) to (1, 1).
    public let points: [(fpr: Double, tpr: Double)]
    public let auc: Double

    public init(scores: [Float], positives: [Bool]) {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let p = positives.filter { $0 }.count, n = positives.count - p
        var tp = 0, fp = 0
        var points: [(Double, Double)] = [(0, 0)]
        var i = 0
        while i < order.count {
            // Ties advance together, so the curve does not depend on their order.
            let s = scores[order[i]]
            while i < order.count && scores[order[i]] == s {
                if positives[order[i]] { tp += 1 } else { fp += 1 }
                i += 1
            }
            points.append((n == 0 ? 0 : Double(fp) / Double(n), p == 0 ? 0 : Double(tp) / Double(p)))
        }
        var area = 0.0
        for (a, b) in zip(points, points.dropFirst()) { area += (b.0 - a.0) * (a.1 + b.1) / 2 }
        self.points = points
        auc = area
    }
}
