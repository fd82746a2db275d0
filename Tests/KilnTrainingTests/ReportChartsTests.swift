import Foundation
import KilnData
import KilnIR
import KilnTraining
import Testing

struct ReportChartsTests {
    func file(_ page: ReportPage, _ name: String) -> String {
        page.sections.flatMap(\.files).first { $0.name == name }.map { String(decoding: $0.bytes, as: UTF8.self) } ?? ""
    }

    @Test("curves: loss (train, validation), accuracy (validation, test), learning rate, restored epoch marked")
    func curves() throws {
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.classifierText), optimizer: try .parse("sgd:lr=0.1"))
        var records: [EpochRecord] = []
        for e in 1...4 {
            let x = Double(e)
            let accuracy: Double = 0.5 + 0.1 * x
            records.append(EpochRecord(epoch: e, learningRate: 0.1 / x, trainLoss: 1 / x, validationLoss: 1.1 / x,
                                       validationAccuracy: accuracy, testLoss: 1.2 / x, testAccuracy: accuracy - 0.05, seconds: 1, steps: 10))
        }
        let page = try TrainingReport(history: TrainingHistory(epochs: records, restoredEpoch: 2)).page(trainer: trainer, test: try ReportSupport.data(16))
        let loss = file(page, "loss.svg"), accuracy = file(page, "accuracy.svg"), rate = file(page, "learning-rate.svg")
        #expect(loss.contains(">train</text>") && loss.contains(">validation</text>") && !loss.contains(">test</text>"))
        #expect(accuracy.contains(">validation</text>") && accuracy.contains(">test</text>"))
        #expect(rate.contains(">learning rate</text>"))
        for svg in [loss, accuracy, rate] {
            #expect(svg.contains(">epoch</text>"))
            for e in 1...4 { #expect(svg.contains(">\(e)</text>")) }
            #expect(svg.contains("best: epoch 2 (restored)"))
        }
        #expect(page.html.contains("early stopping restored epoch 2"))
        #expect(page.html.contains("<td>2 (restored)</td>"))
    }

    @Test("a graph that does not classify gets train, validation and test loss and no accuracy chart")
    func regression() throws {
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.autoencoderText(role: "reconstruction")), optimizer: try .parse("sgd:lr=0.1"))
        let records = [EpochRecord(epoch: 1, learningRate: 0.1, trainLoss: 0.2, validationLoss: 0.25, testLoss: 0.3, seconds: 1, steps: 4)]
        let page = try TrainingReport(history: TrainingHistory(epochs: records)).page(trainer: trainer, test: try ReportSupport.images(16))
        #expect(file(page, "loss.svg").contains(">test</text>"))
        #expect(file(page, "accuracy.svg").isEmpty)
    }
}
