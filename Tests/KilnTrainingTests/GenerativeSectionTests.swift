import Foundation
import KilnData
import KilnIR
import KilnTraining
import Testing

struct GenerativeSectionTests {
    func page(role: String?) throws -> ReportPage {
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.autoencoderText(role: role)), optimizer: try .parse("adam:lr=0.01"))
        let history = try trainer.fit(try ReportSupport.images(64), epochs: 1, progress: .silent)
        return try TrainingReport(history: history).page(trainer: trainer, test: try ReportSupport.images(16))
    }

    @Test("an output 'recon as reconstruction' shows reconstructions beside the inputs")
    func reconstructionRole() throws {
        let page = try page(role: "reconstruction")
        let section = try #require(page.sections.first { $0.title == "Reconstructions" })
        #expect(section.html.contains("<code>recon</code>"))
        let png = try #require(section.files.first { $0.name == "reconstructions.png" })
        #expect(png.bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(!page.sections.contains { $0.title == "Samples per epoch" })
    }

    @Test("without a declared role nothing is guessed from names: no reconstructions")
    func noRole() throws {
        let page = try page(role: nil)
        #expect(!page.sections.contains { $0.title == "Samples per epoch" || $0.files.contains { $0.name == "reconstructions.png" } })
        #expect(page.sections.contains { $0.title == "First-layer filters" })
        #expect(page.html.contains("declare 'output recon as reconstruction'"), "the page says what it would need")
    }

    @Test("an output declared 'as sample' is shown once per epoch while training runs")
    func samplesPerEpoch() throws {
        let directory = try ReportSupport.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.autoencoderText(role: "sample")), optimizer: try .parse("adam:lr=0.01"))
        let writer = ReportWriter(directory: directory, test: try ReportSupport.images(16))
        writer.renderGraph = false
        writer.announces = false
        try trainer.fit(try ReportSupport.images(64), epochs: 3, callbacks: [writer], progress: .silent)
        let html = ReportSupport.read(directory + "/index.html")
        #expect(html.contains("Samples per epoch"))
        for epoch in 1...3 {
            #expect(FileManager.default.fileExists(atPath: "\(directory)/samples-epoch-\(epoch).png"))
            #expect(html.contains("samples-epoch-\(epoch).png"))
        }
        #expect(!html.contains("Reconstructions"))
    }
}
