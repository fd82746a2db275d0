import Foundation
import KilnData
import Testing
@testable import kiln

/// `kiln train --folds`, `--init-from`, `--freeze`, `--augment` and the new schedules, through
/// the built binary on a slice of Fashion-MNIST, and their option checks in process.
struct TrainCourseOptionsTests {
    static var dataAvailable: Bool { TrainCommandTests.dataAvailable }

    @Test("--folds 3 prints every fold and mean ± std; --init-from reports what it loaded; --freeze and --augment run",
          .enabled(if: dataAvailable))
    func endToEnd() throws {
        let (directory, graph) = try TrainCommandTests().setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let folds = try runKiln(["train", graph, "--limit", "300", "--folds", "3", "--schedule", "warmup:epochs=1"])
        #expect(folds.status == 0, "\(folds.err)")
        for fold in 1...3 { #expect(folds.out.contains("fold \(fold) of 3: 200 train, 100 validation: loss ")) }
        #expect(folds.out.contains("validation accuracy over 3 folds: "))
        #expect(folds.out.contains(" ± "))

        let checkpoint = directory + "/first.safetensors"
        let first = try runKiln(["train", graph, "--limit", "200", "--checkpoint", checkpoint, "--schedule", "exponential:gamma=0.5"])
        #expect(first.status == 0, "\(first.err)")
        let second = try runKiln(["train", graph, "--limit", "200", "--init-from", checkpoint, "--freeze", "w*",
                                  "--augment", "shift=2,flip,noise=0.05"])
        #expect(second.status == 0, "\(second.err)")
        #expect(second.out.contains("params from \(checkpoint):\nloaded "))
        #expect(second.out.contains("shape-mismatched 0\n"))
        #expect(second.out.contains("frozen: "))
    }

    @Test("--label-smoothing trains a classifier and refuses another loss; an RBM's epoch line shows its monitored outputs",
          .enabled(if: dataAvailable))
    func smoothingAndMonitoring() throws {
        let (directory, graph) = try TrainCommandTests().setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let smoothed = try runKiln(["train", graph, "--limit", "200", "--label-smoothing", "0.1", "--augment", "crop=2,flip"])
        #expect(smoothed.status == 0, "\(smoothed.err)")
        #expect(smoothed.out.contains("test accuracy "))
        let autoencoder = repositoryRoot.appendingPathComponent("Graphs/autoencoder.kiln").path
        let refused = try runKiln(["train", autoencoder, "--limit", "256", "--label-smoothing", "0.1"])
        #expect(refused.status == 1)
        #expect(refused.err.contains("label smoothing needs a classifier: the loss 'loss' is mse, not softmax_cross_entropy(logits, labels)"), "\(refused.err)")
        let rbm = repositoryRoot.appendingPathComponent("Graphs/rbm_cd1.kiln").path
        let monitored = try runKiln(["train", rbm, "--limit", "512", "--validation", "0.25"])
        #expect(monitored.status == 0, "\(monitored.err)")
        let line = try #require(monitored.out.split(separator: "\n").first { $0.hasPrefix("epoch 1:") })
        #expect(line.contains("recon_error train ") && line.contains("free_energy train ") && line.contains(" validation ") && line.contains("(gap "), "\(line)")
    }

    @Test("option checks name their range", arguments: [
        (["--folds", "1"], "--folds must be between 2 and 100, got 1"),
        (["--folds", "3", "--report", "r"], "--folds cannot be combined with --report"),
        (["--init-from", "/no/such/file.safetensors"], "--init-from: '/no/such/file.safetensors' does not exist"),
        (["--freeze", ""], "--freeze needs names or globs, e.g. --freeze enc_*,w1"),
        (["--augment", "shift=-1"], "--augment: augmentation shift=-1 is out of range: expected an integer in 0...64"),
        (["--schedule", "warmup"], "--schedule: schedule warmup needs epochs=N (the warm-up length)"),
    ])
    func options(_ arguments: [String], _ message: String) throws {
        let (directory, graph) = try TrainCommandTests().setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(validationMessage(Train.self, [graph] + arguments) == message)
    }
}
