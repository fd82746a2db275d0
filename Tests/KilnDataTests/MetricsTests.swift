import KilnData
import Testing

struct MetricsTests {
    /// Six predictions of a binary classifier: 2 true positives, 1 true negative,
    /// 1 false negative, 2 false positives (class 1 is "positive").
    @Test("the six-prediction example: precision, recall, specificity, F1 by hand")
    func sixPredictions() {
        let labels: [Int32] = [1, 1, 0, 1, 0, 0]
        let predictions: [Int32] = [1, 1, 0, 0, 1, 1]
        let m = ClassificationMetrics(predictions: predictions, labels: labels, classes: 2)
        let k = m.counts(1)
        #expect(k.tp == 2 && k.tn == 1 && k.fn == 1 && k.fp == 2)
        #expect(m.precision(1) == 0.5)              // 2 / (2 + 2)
        #expect(Swift.abs(m.recall(1) - 2.0 / 3) < 1e-12)       // 2 / (2 + 1)
        #expect(Swift.abs(m.specificity(1) - 1.0 / 3) < 1e-12)  // 1 / (1 + 2)
        #expect(Swift.abs(m.f1(1) - 4.0 / 7) < 1e-12)           // 2·½·⅔ / (½ + ⅔)
        #expect(m.accuracy == 0.5)
        #expect(m.confusion == [[1, 2], [1, 2]])
    }

    @Test("three classes: confusion matrix and one-vs-rest counts")
    func threeClasses() {
        let m = ClassificationMetrics(predictions: [0, 1, 2, 2, 1, 0, 2], labels: [0, 1, 2, 1, 1, 2, 2], classes: 3)
        #expect(m.confusion == [[1, 0, 0], [0, 2, 1], [1, 0, 2]])
        #expect(m.counts(2) == (tp: 2, fp: 1, fn: 1, tn: 3))
        #expect(Swift.abs(m.accuracy - 5.0 / 7) < 1e-12)
        #expect(m.report(classNames: ["a", "b", "c"]).contains("confusion"))
    }

    @Test("ROC: a perfect ranking has AUC 1, a reversed one 0, ties count half")
    func roc() {
        #expect(ROCCurve(scores: [0.9, 0.8, 0.3, 0.1], positives: [true, true, false, false]).auc == 1)
        #expect(ROCCurve(scores: [0.1, 0.2, 0.8, 0.9], positives: [true, true, false, false]).auc == 0)
        #expect(ROCCurve(scores: [0.5, 0.5], positives: [true, false]).auc == 0.5)
        let curve = ROCCurve(scores: [0.9, 0.7, 0.6, 0.2], positives: [true, false, true, false])
        #expect(curve.auc == 0.75)
        #expect(curve.points.first! == (0, 0) && curve.points.last! == (1, 1))
    }

    /// The three-class matrix above, by hand (rows truth, columns prediction):
    ///   [[1, 0, 0], [0, 2, 1], [1, 0, 2]]; supports 1, 3, 3.
    ///   class 0: precision 1/2, recall 1,   F1 2/3
    ///   class 1: precision 1,   recall 2/3, F1 4/5
    ///   class 2: precision 2/3, recall 2/3, F1 2/3
    @Test("macro and weighted averages of precision, recall and F1 by hand")
    func averages() {
        let m = ClassificationMetrics(predictions: [0, 1, 2, 2, 1, 0, 2], labels: [0, 1, 2, 1, 1, 2, 2], classes: 3)
        #expect((0..<3).map(m.support) == [1, 3, 3])
        func close(_ a: Double, _ b: Double) -> Bool { Swift.abs(a - b) < 1e-12 }
        let macro = m.macroAverage, weighted = m.weightedAverage
        #expect(close(macro.precision, 13.0 / 18))   // (1/2 + 1 + 2/3) / 3
        #expect(close(macro.recall, 7.0 / 9))        // (1 + 2/3 + 2/3) / 3
        #expect(close(macro.f1, 32.0 / 45))          // (2/3 + 4/5 + 2/3) / 3
        #expect(close(weighted.precision, 11.0 / 14)) // (1·1/2 + 3·1 + 3·2/3) / 7
        #expect(close(weighted.recall, 5.0 / 7))      // = accuracy
        #expect(close(weighted.recall, m.accuracy))
        #expect(close(weighted.f1, 76.0 / 105))       // (1·2/3 + 3·4/5 + 3·2/3) / 7
        let text = m.report(classNames: ["ant", "bee", "cat"])
        #expect(text.contains("macro average") && text.contains("weighted average") && text.contains("bee"))
    }

    @Test("averages of an empty matrix are zero, not NaN")
    func emptyAverages() {
        let m = ClassificationMetrics(predictions: [], labels: [], classes: 2)
        #expect(m.macroAverage == ClassificationMetrics.Average(precision: 0, recall: 0, f1: 0))
        #expect(m.weightedAverage == ClassificationMetrics.Average(precision: 0, recall: 0, f1: 0))
    }
}
