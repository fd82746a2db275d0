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
        var curves: [(Double, Double)] = []
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
            curves.append((d / n, gl / n))
            print(String(format: "epoch %d: discriminator loss %.4f, generator loss %.4f, %.1f s", epoch, d / n, gl / n, monotonicSeconds() - start))
        }
        guard let report else { return }
        try AtomicFile.makeDirectory(report)
        try AtomicFile.write(Pictures.lineChart(title: "GAN losses per epoch", series: [("discriminator", curves.map(\.0)), ("generator", curves.map(\.1))])
            , to: "\(report)/loss.svg")
        if let fake = gan.lastFake {
            let images = (0..<Swift.min(32, gan.batchSize)).map { Array(UnsafeBufferPointer(start: fake.floatPointer + $0 * 784, count: 784)) }
            try AtomicFile.write(try Pictures.grid(images, side: 28, columns: 8), to: "\(report)/samples.png")
        }
        let html = "<!doctype html><html><body style=\"font-family:sans-serif\"><h1>\(g.name)</h1><img src=\"loss.svg\"><h2>Generated samples</h2><img src=\"samples.png\" style=\"image-rendering:pixelated;width:600px\"></body></html>\n"
        try AtomicFile.write(html, to: "\(report)/index.html")
        print("report written to \(report)/index.html")
    }
}
