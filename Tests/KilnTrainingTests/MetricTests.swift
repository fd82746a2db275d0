import Foundation
import KilnData
import KilnIR
import KilnRuntime
import KilnTraining
import Testing

/// Metrics computed in `fit`'s evaluation pass: top-k built in, custom ones by closure.
struct MetricTests {
    @Test("top-k accuracy by hand: labels ranked 1st, 2nd, 3rd and tied of 3 classes; a tie counts against the label")
    func topK() {
        let e = Evaluation(loss: 0, accuracy: 0, predictions: [0, 1, 2, 0], labels: [0, 0, 0, 2],
                           probabilities: [0.7, 0.2, 0.1, 0.3, 0.6, 0.1, 0.1, 0.3, 0.6, 0.4, 0.2, 0.4], classes: 3)
        #expect(e.topKAccuracy(1) == 0.25)
        #expect(e.topKAccuracy(2) == 0.75)  // rows 1, 2 and 4 (its tie ranks the label 2nd)
        #expect(e.topKAccuracy(3) == 1)
        #expect(e.topKAccuracy(0).isNaN && e.topKAccuracy(4).isNaN)
    }

    @Test("fit records top-k and a custom metric for validation and test, in the history and the report")
    func recorded() throws {
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.classifierText), optimizer: try .parse("adam:lr=0.05"), backend: .interpreter)
        let data = try ReportSupport.data(48), test = try ReportSupport.data(16, seed: 4)
        let directory = try ReportSupport.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let count = Metric("examples") { Double($0.labels.count) }
        let history = try trainer.fit(data, epochs: 2, validation: .fraction(0.25), test: test, progress: .silent,
                                      report: directory, metrics: [.topK(1), .topK(3), count])
        for record in history.epochs {
            #expect(record.validationMetrics.map(\.name) == ["top-1 accuracy", "top-3 accuracy", "examples"])
            #expect(record.validationMetrics[0].value == record.validationAccuracy)
            #expect(record.testMetrics[0].value == record.testAccuracy)
            #expect(record.testMetrics[1].value == 1)
            #expect(record.testMetrics[2].value == 16 && record.validationMetrics[2].value == 12)
        }
        let html = ReportSupport.read(directory + "/index.html")
        #expect(html.contains("<th>validation top-3 accuracy</th>") && html.contains("<th>test examples</th>"))
    }

    @Test("metric names must be distinct and non-empty; metrics need a classifier")
    func refused() throws {
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.classifierText), optimizer: try .parse("sgd"), backend: .interpreter)
        let data = try ReportSupport.data(16)
        #expect(throws: Diagnostic("fit: two metrics are named 'top-2 accuracy'")) {
            try trainer.fit(data, epochs: 1, progress: .silent, metrics: [.topK(2), .topK(2)])
        }
        #expect(throws: Diagnostic("fit: a metric has an empty name")) {
            try trainer.fit(data, epochs: 1, progress: .silent, metrics: [Metric("") { _ in 0 }])
        }
        let autoencoder = try Trainer(graph: try Parser.parse(ReportSupport.autoencoderText(role: "reconstruction")), optimizer: try .parse("sgd"), backend: .interpreter)
        #expect(throws: Diagnostic("fit: metrics (top-1 accuracy) need a classifier: an output declared 'as logits' and an i32 label input")) {
            try autoencoder.fit(try ReportSupport.images(16), epochs: 1, progress: .silent, metrics: [.topK(1)])
        }
    }
}
