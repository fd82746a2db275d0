import ArgumentParser
import Foundation
import KilnData
import KilnIR
import KilnNN
import KilnPasses
import KilnRuntime

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a graph on Fashion-MNIST, with a progress bar and one line per epoch.",
        discussion: """
            A graph with outputs d_loss and g_loss (and params disc_*, gen_*) trains as a GAN: a \
            discriminator step then a generator step per batch. Otherwise the graph's f32 input receives a batch of images (reshaped to its shape, e.g. [64, 784] or \
            [64, 1, 28, 28]) and its i32 input the labels; its `logits` output is used for accuracy.
            """)
    @OptionGroup var graph: GraphFile

    @Option(help: "The scalar loss to minimise.")
    var loss: String = "loss"

    @Option(help: "Epochs to train.")
    var epochs: Int = 1

    @Option(help: "Batch size; must equal the graph's static batch (default: the graph's).")
    var batch: Int?

    @Option(help: "sgd|momentum|nesterov|rmsprop|adam[:lr=…,momentum=…,beta1=…,beta2=…,eps=…,weight_decay=…].")
    var optimizer: String = "adam:lr=0.001"

    @Option(help: "Backend: interp or jit.")
    var backend: String = "interp"

    @Option(help: "Data set: fashion-mnist.")
    var data: String = "fashion-mnist"

    @Option(help: "Use only the first N training examples (quick runs).")
    var limit: Int?

    @Option(help: "Fraction of the training set held out for validation.")
    var validation: Double = 0.1

    @Option(help: "Seed of initialisers, shuffling and dropout.")
    var seed: UInt64 = 0

    @Option(help: "Save params and optimiser state here after every epoch (safetensors).")
    var checkpoint: String?

    @Flag(help: "Resume from --checkpoint.")
    var resume = false

    @Flag(help: "Run the graphs unoptimised (no simplify/fuse/plan-memory).")
    var noOptimize = false

    @Option(help: "Learning-rate schedule: constant, step:every=N,gamma=G, or cosine[:min=F] (over --epochs).")
    var schedule: String = "constant"

    @Flag(help: "Standardise pixels with the training set's mean and standard deviation (instead of [0, 1]).")
    var standardize = false

    @Option(help: "Write training curves (SVG), samples (PNG), metrics and index.html into this directory.")
    var report: String?

    @Option(help: "Early stopping: stop after this many epochs without a better validation loss, keeping the best params.")
    var patience: Int?

    func run() throws {
        try reportingErrors {
            guard data == "fashion-mnist" else { throw CLIError("unknown data set '\(data)' (available: fashion-mnist)") }
            guard let kind = BackendKind(rawValue: backend) else { throw CLIError("unknown backend '\(backend)' (interp or jit)") }
            if resume && checkpoint == nil { throw CLIError("--resume needs --checkpoint PATH") }
            let g = try graph.load()
            if g.outputs.contains("d_loss") && g.outputs.contains("g_loss") {
                try trainGAN(g, kind: kind)
                return
            }
            let trainer = try Trainer(graph: g, loss: loss, optimizer: try Optimizer.parse(optimizer), backend: kind,
                                      seed: seed, optimize: !noOptimize)
            if let batch, batch != trainer.batchSize {
                throw CLIError("--batch \(batch) does not match the graph's static batch \(trainer.batchSize) (input '\(trainer.featureInput.name)' \(trainer.featureInput.type))")
            }
            let example = Array(trainer.featureInput.type.shape.dims.dropFirst())
            var full = try FashionMNIST.load(train: true, limit: limit).reshaped(example)
            var test = try FashionMNIST.load(train: false).reshaped(example)
            if standardize {
                let (mean, std) = full.featureStatistics
                full = full.standardized(mean: mean, std: std)
                test = test.standardized(mean: mean, std: std)
            }
            let (train, held) = full.split(validationFraction: validation, seed: seed)
            let lrSchedule = try LearningRateSchedule.parse(schedule, epochs: epochs)
            let baseRate = trainer.optimizer.learningRate
            var best: (loss: Double, epoch: Int, state: [String: Tensor])?
            var history = TrainingReport()
            var firstEpoch = 1
            if resume, let checkpoint, FileManager.default.fileExists(atPath: checkpoint) {
                let metadata = try trainer.loadCheckpoint(from: checkpoint)
                firstEpoch = (Int(metadata["kiln.epoch"] ?? "0") ?? 0) + 1
                print("resumed from \(checkpoint) at epoch \(firstEpoch - 1), step \(trainer.stepCount)")
            }
            print("training \(g.name) on Fashion-MNIST: \(train.count) train, \(held.count) validation, \(test.count) test; batch \(trainer.batchSize), \(trainer.optimizer), backend \(backend)")
            for epoch in firstEpoch..<(firstEpoch + epochs) {
                trainer.learningRate = Float(lrSchedule.rate(base: baseRate, epoch: epoch - firstEpoch))
                let batches = train.trainingBatches(size: trainer.batchSize, seed: seed &+ UInt64(epoch))
                let start = monotonicSeconds()
                var running = 0.0, total = 0.0
                for (i, b) in batches.enumerated() {
                    let value = Double(try trainer.step(b))
                    total += value
                    running = i == 0 ? value : 0.95 * running + 0.05 * value
                    if isatty(2) != 0 && (i % 10 == 0 || i == batches.count - 1) {
                        progress(epoch: epoch, done: i + 1, of: batches.count, seconds: monotonicSeconds() - start, loss: running)
                    }
                }
                let trainSeconds = monotonicSeconds() - start
                let validationLoss = held.count > 0 ? (trainer.isClassifier ? try trainer.evaluate(held).loss : try trainer.evaluateLoss(held)) : nil
                let testValue = trainer.isClassifier ? try trainer.evaluate(test).accuracy : try trainer.evaluateLoss(test)
                let testSummary = String(format: trainer.isClassifier ? "test accuracy %.4f" : "test loss %.4f", testValue)
                history.epochs.append((total / Double(Swift.max(batches.count, 1)), validationLoss ?? .nan, testValue))
                if isatty(2) != 0 { FileHandleOutput.standardError.write("\r\u{1B}[K") }
                print(String(format: "epoch %d: lr %.3g, train loss %.4f, validation loss %@, %@, %.1f s (%.1f steps/s)",
                             epoch, Double(trainer.learningRate), total / Double(Swift.max(batches.count, 1)),
                             validationLoss.map { String(format: "%.4f", $0) } ?? "-", testSummary,
                             trainSeconds, Double(batches.count) / trainSeconds))
                if let checkpoint { try trainer.saveCheckpoint(to: checkpoint, metadata: ["kiln.epoch": String(epoch)]) }
                if let patience, let v = validationLoss {
                    if best == nil || v < (best?.loss ?? .infinity) {
                        best = (v, epoch, trainer.state)
                    } else if epoch - (best?.epoch ?? epoch) >= patience, let kept = best {
                        trainer.state = kept.state
                        print(String(format: "early stop: no better validation loss for %d epochs; restored epoch %d (validation loss %.4f)",
                                     patience, kept.epoch, kept.loss))
                        break
                    }
                }
            }
            if let report {
                try history.write(to: report, trainer: trainer, test: test, graphName: g.name)
                print("report written to \(report)/index.html")
            }
        }
    }

    private func progress(epoch: Int, done: Int, of total: Int, seconds: Double, loss: Double) {
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        FileHandleOutput.standardError.write(String(format: "\repoch %d [%@] %d/%d  %.1f steps/s  loss %.4f",
                                                    epoch, bar, done, total, Double(done) / Swift.max(seconds, 1e-9), loss))
    }
}
