import Foundation
import KilnData
import KilnIR
import KilnNN
import KilnPasses
import KilnRuntime
import KilnSupport
import KilnTraining

extension Train {
    /// Alternating GAN training for graphs with `d_loss` and `g_loss` outputs.
    func trainGAN(_ g: Graph, kind: BackendKind) throws {
        let gan = try GANTrainer(graph: g, optimizer: try Optimizer.parse(optimizer), backend: kind, seed: seed)
        let data = try loadData().train
        print("training GAN \(g.name) on \(self.data): \(data.count) examples, batch \(gan.batchSize), backend \(backend)")
        var report = GANReport(graphName: g.name, summary: "GAN, \(optimizer), batch \(gan.batchSize), backend \(backend), \(data.count) training examples.",
                               lastEpoch: epochs, sampleOutput: gan.sampleOutput)
        if let directory = self.report {
            try AtomicFile.makeDirectory(directory)
            try report.write(to: directory, finished: false)
        }
        for epoch in 1...epochs {
            let start = monotonicSeconds()
            var d = 0.0, gl = 0.0
            let batches = data.trainingBatches(size: gan.batchSize, seed: seed &+ UInt64(epoch))
            for (i, b) in batches.enumerated() {
                let (dl, gLoss) = try gan.step(b)
                guard dl.isFinite, gLoss.isFinite else {
                    throw CLIError("epoch \(epoch), batch \(i + 1) of \(batches.count): discriminator loss \(dl), generator loss \(gLoss): training diverged; stopped")
                }
                d += Double(dl)
                gl += Double(gLoss)
            }
            let n = Double(Swift.max(batches.count, 1))
            print(String(format: "epoch %d: discriminator loss %.4f, generator loss %.4f, %.1f s", epoch, d / n, gl / n, monotonicSeconds() - start))
            fflush(stdout)
            guard let directory = self.report else { continue }
            // Rewritten after every epoch, so an open page follows the run.
            try report.record(epoch: epoch, discriminator: d / n, generator: gl / n, fake: gan.lastFake)
            try report.write(to: directory, finished: epoch == epochs)
        }
        guard let report = self.report else { return }
        print("report written to \(report)/index.html")
    }
}
