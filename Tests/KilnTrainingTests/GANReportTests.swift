import Foundation
import KilnRuntime
import KilnTraining
import Testing

struct GANReportTests {
    @Test("a GAN report shows both losses and one sample grid per epoch, refreshing until the last")
    func ganReport() throws {
        var report = GANReport(graphName: "gan", summary: "test", lastEpoch: 2, sampleOutput: "fake")
        #expect(report.page(finished: false).html.contains("waiting for the first epoch of 2"))
        let fake = Tensor([4, 16], floats: (0..<64).map { Float($0) / 64 })
        try report.record(epoch: 1, discriminator: 0.7, generator: 2.1, fake: fake)
        try report.record(epoch: 2, discriminator: 0.5, generator: 2.5, fake: fake)
        let page = report.page(finished: true)
        #expect(!page.html.contains("http-equiv"))
        let files = page.sections.flatMap(\.files).map(\.name)
        #expect(files.contains("loss.svg") && files.contains("samples-epoch-1.png") && files.contains("samples-epoch-2.png"))
        let loss = page.sections.flatMap(\.files).first { $0.name == "loss.svg" }.map { String(decoding: $0.bytes, as: UTF8.self) } ?? ""
        #expect(loss.contains(">discriminator</text>") && loss.contains(">generator</text>"))
    }
}
