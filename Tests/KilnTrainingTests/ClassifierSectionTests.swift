import Foundation
import KilnData
import KilnIR
import KilnTraining
import Testing

struct ClassifierSectionTests {
    func page(classNames: [String]?) throws -> ReportPage {
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.classifierText), optimizer: try .parse("adam:lr=0.05"))
        let history = try trainer.fit(try ReportSupport.data(160), epochs: 2, progress: .silent)
        var test = try ReportSupport.data(48, seed: 4)
        test.classNames = classNames
        return try TrainingReport(history: history).page(trainer: trainer, test: test)
    }

    func file(_ page: ReportPage, _ name: String) -> String {
        page.sections.flatMap(\.files).first { $0.name == name }.map { String(decoding: $0.bytes, as: UTF8.self) } ?? ""
    }

    @Test("class names from the data set label the ROC curves, metrics, heat map and samples")
    func classNames() throws {
        let page = try page(classNames: ["ant", "bee", "cat"])
        let roc = file(page, "roc.svg"), metrics = file(page, "metrics.txt"), heat = file(page, "confusion.svg")
        for name in ["ant", "bee", "cat"] {
            #expect(roc.contains(">\(name) (AUC "), "\(name) in the ROC legend")
            #expect(metrics.contains("  \(name): "), "\(name)'s AUC in metrics.txt")
            #expect(heat.contains(">\(name)</text>"))
        }
        #expect(!metrics.contains("class 0") && !roc.contains("class 0"))
        #expect(roc.contains("<polyline") && roc.contains(">false-positive rate</text>"))
        #expect(page.html.contains("<td>macro average</td>") && page.html.contains("<td>weighted average</td>"))
        #expect(metrics.contains("macro average") && metrics.contains("weighted average"))
    }

    @Test("the sample grid shows true and predicted classes and outlines mistakes; confident mistakes are listed")
    func samples() throws {
        let page = try page(classNames: ["ant", "bee", "cat"])
        let samples = try #require(page.sections.first { $0.title == "Test samples" })
        #expect(samples.html.components(separatedBy: "<figure").count - 1 == 32)
        #expect(samples.html.contains("data:image/png;base64,"))
        let wrong = samples.html.components(separatedBy: "<figure class=\"wrong\"").count - 1
        let mistakes = try #require(page.sections.first { $0.title == "Most confident mistakes" })
        if wrong > 0 {
            #expect(samples.html.contains("→ "))
            #expect(mistakes.html.contains("%)</figcaption>"))
        }
    }

    @Test("without class names the classes are numbered")
    func numbered() throws {
        let page = try page(classNames: nil)
        #expect(file(page, "roc.svg").contains(">class 2 (AUC "))
    }
}
