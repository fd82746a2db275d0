import Foundation
import KilnData
import KilnIR
import KilnTraining
import Testing

/// Reads the report directory after every epoch (it runs after the writer).
final class PageReader: TrainingCallback {
    let directory: String
    var pages: [String] = []
    init(directory: String) { self.directory = directory }
    func epochDidEnd(_ record: EpochRecord, trainer: Trainer) throws { pages.append(ReportSupport.read(directory + "/index.html")) }
}

/// Replaces the report directory by a regular file after the first epoch (as a full disk
/// would, every later report write fails).
final class DirectoryBreaker: TrainingCallback {
    let directory: String
    init(directory: String) { self.directory = directory }
    func epochDidEnd(_ record: EpochRecord, trainer: Trainer) throws {
        guard record.epoch == 1 else { return }
        try FileManager.default.removeItem(atPath: directory)
        _ = FileManager.default.createFile(atPath: directory, contents: Data())
    }
}

struct ReportWriterTests {
    @Test("a report write that fails during training is a warning; training carries on")
    func failedWriteWarns() throws {
        let directory = try ReportSupport.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.classifierText), optimizer: try .parse("adam:lr=0.05"))
        let writer = ReportWriter(directory: directory, test: try ReportSupport.data(40, seed: 3))
        writer.renderGraph = false
        writer.announces = false
        let history = try trainer.fit(try ReportSupport.data(160), epochs: 3, callbacks: [DirectoryBreaker(directory: directory), writer], progress: .silent)
        #expect(history.epochs.count == 3)
        // Epochs 1, 2, 3 and the final page: every write after the directory went away failed.
        #expect(writer.failures.count == 4, "\(writer.failures)")
        #expect(writer.failures.first?.contains(directory) == true)
    }

    @Test("the report is rewritten after every epoch, refreshing itself while training runs and not after")
    func liveReport() throws {
        let directory = try ReportSupport.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.classifierText), optimizer: try .parse("adam:lr=0.05"))
        let writer = ReportWriter(directory: directory, test: try ReportSupport.data(40, seed: 3))
        writer.renderGraph = false
        writer.announces = false
        let reader = PageReader(directory: directory)
        try trainer.fit(try ReportSupport.data(160), epochs: 3, callbacks: [writer, reader], progress: .silent)
        #expect(reader.pages.count == 3)
        for (k, page) in reader.pages.enumerated() {
            #expect(page.contains("http-equiv=\"refresh\""), "epoch \(k + 1)'s page reloads itself")
            #expect(page.contains("training: epoch \(k + 1) of 3 done"))
            // Each epoch adds a row to the curves' table.
            #expect(page.components(separatedBy: "<tr><td>").count - 1 >= k + 1)
        }
        let final = ReportSupport.read(directory + "/index.html")
        #expect(!final.contains("http-equiv=\"refresh\""))
        #expect(final.contains("finished after 3 epochs"))
        for file in ["loss.svg", "accuracy.svg", "learning-rate.svg", "confusion.svg", "roc.svg", "metrics.txt", "graph.dot", "filters.png"] {
            #expect(FileManager.default.fileExists(atPath: "\(directory)/\(file)"), "\(file)")
        }
        // Atomic writes leave no temporaries behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(!names.contains { $0.hasPrefix(".") }, "\(names)")
    }

    @Test("a page exists before the first epoch ends, and names the compiled model")
    func firstPage() throws {
        let directory = try ReportSupport.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        final class FirstBatch: TrainingCallback {
            let directory: String
            var page = ""
            init(directory: String) { self.directory = directory }
            func batchDidEnd(epoch: Int, batch: Int, of batches: Int, loss: Double, seconds: Double) {
                if page.isEmpty { page = ReportSupport.read(directory + "/index.html") }
            }
        }
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.classifierText), optimizer: try .parse("sgd:lr=0.1"))
        let writer = ReportWriter(directory: directory, test: try ReportSupport.data(16))
        writer.renderGraph = false
        writer.announces = false
        let probe = FirstBatch(directory: directory)
        try trainer.fit(try ReportSupport.data(32), epochs: 1, validation: .none, callbacks: [writer, probe], progress: .silent)
        #expect(probe.page.contains("waiting for the first epoch of 1"))
        #expect(probe.page.contains("The compiled model") && probe.page.contains("memory: arena"))
    }
}
