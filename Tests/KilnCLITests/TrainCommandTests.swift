import Foundation
import KilnData
import KilnIR
import KilnNN
import KilnRuntime
import KilnTraining
import Testing
@testable import kiln

/// `kiln train` end to end on a small linear model over the first 200 Fashion-MNIST images:
/// checkpoint policy, out-of-range checkpoint metadata, divergence, line-buffered output.
@Suite(.serialized)
struct TrainCommandTests {
    static let graph = """
        graph linear {
          input x: f32[50, 784]
          input labels: i32[50]
          param w: f32[784, 10] = zeros
          param b: f32[10] = zeros
          logits = add(matmul(x, w), b)
          loss = softmax_cross_entropy(logits, labels)
          output loss as loss, logits as logits
        }
        """

    /// Fashion-MNIST is there, or `make test` requires it (then the tests run and fail without it).
    static var dataAvailable: Bool { prerequisite(FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory)) }

    func setUp() throws -> (directory: String, graph: String) {
        let directory = makeTemporaryDirectory()
        return (directory, try writeFile(Self.graph, "linear.kiln", in: directory))
    }

    @Test("an existing checkpoint is refused without --resume or --overwrite; --resume needs one")
    func checkpointPolicy() throws {
        let (directory, graph) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/c.safetensors"
        #expect(validationMessage(Train.self, [graph, "--checkpoint", path, "--resume"])
                == "--resume: checkpoint '\(path)' does not exist (drop --resume to start from scratch)")
        _ = FileManager.default.createFile(atPath: path, contents: Data([1]))
        #expect(validationMessage(Train.self, [graph, "--checkpoint", path])
                == "checkpoint '\(path)' already exists: pass --resume to continue from it or --overwrite to replace it")
        #expect(validationMessage(Train.self, [graph, "--checkpoint", path, "--overwrite"]) == nil)
        #expect(validationMessage(Train.self, [graph, "--checkpoint", path, "--resume", "--overwrite"]) == "--resume and --overwrite are exclusive")
    }

    @Test("checkpoint metadata out of range is an error on --resume", .enabled(if: dataAvailable),
          arguments: [("kiln.epoch", "-5"), ("kiln.epoch", "9223372036854775807"), ("kiln.steps", "9223372036854775807")])
    func metadata(_ key: String, _ value: String) throws {
        let (directory, graph) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let trainer = try Trainer(graph: try Parser.parse(Self.graph), loss: "loss", optimizer: try .parse("adam:lr=0.001"))
        let path = directory + "/c.safetensors"
        let metadata = ["kiln.epoch": "1", "kiln.steps": "3"].merging([key: value]) { $1 }
        try SafetensorsFormat.write(trainer.state, metadata: metadata, to: path)
        let r = try runKiln(["train", graph, "--limit", "200", "--checkpoint", path, "--resume"])
        #expect(r.status == 1)
        let range = key == "kiln.epoch" ? "0...\(Trainer.maximumCheckpointEpoch)" : "0...\(Trainer.maximumSteps)"
        #expect(r.err == "error: checkpoint '\(path)': \(key) '\(value)' is not an integer in \(range)\n")
    }

    @Test("a diverging run stops naming epoch and step, and keeps the good checkpoint", .enabled(if: dataAvailable))
    func divergence() throws {
        let (directory, graph) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/c.safetensors"
        var r = try runKiln(["train", graph, "--limit", "200", "--checkpoint", path, "--optimizer", "sgd:lr=0.01"])
        #expect(r.status == 0)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        r = try runKiln(["train", graph, "--limit", "200", "--checkpoint", path, "--resume", "--optimizer", "sgd:lr=1e38"])
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("error: epoch 2, batch "))
        #expect(r.err.contains("the loss 'loss' is "))
        #expect(r.err.contains("training diverged; stopped, '\(path)' keeps the last finite epoch"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == good)
    }

    @Test("per-epoch lines reach a pipe while training still runs", .enabled(if: dataAvailable))
    func lineBuffered() throws {
        let (directory, graph) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = kilnBinary
        process.arguments = ["train", graph, "--limit", "200", "--epochs", "4"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("epoch 1:") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let runningAfterFirstEpoch = process.isRunning
        _ = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(text.contains("epoch 1:"))
        #expect(runningAfterFirstEpoch, "the first epoch's line arrived only when the process ended")
    }

    @Test("an unusable --report directory is a plain message before training starts")
    func reportDirectory() throws {
        let (directory, graph) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/r", contents: Data())
        let r = try runKiln(["train", graph, "--limit", "200", "--report", directory + "/r"])
        #expect(r.status == 1)
        #expect(r.err == "error: cannot use '\(directory)/r' as a directory: it exists and is not a directory\n")
        #expect(!r.out.contains("epoch 1:"))
    }
}
