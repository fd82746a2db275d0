import Foundation
import KilnData
import KilnIR
import KilnRuntime
import KilnTraining
import Testing

/// Records what `fit` reports to its callbacks.
final class Recorder: TrainingCallback {
    var began = 0, batches = 0, epochs: [Int] = [], ended = 0

    func trainingWillBegin(trainer: Trainer, plan: TrainingPlan) throws { began += 1 }
    func batchDidEnd(epoch: Int, batch: Int, of batches: Int, loss: Double, seconds: Double) { self.batches += 1 }
    func epochDidEnd(_ record: EpochRecord, trainer: Trainer) throws { epochs.append(record.epoch) }
    func trainingDidEnd(_ history: TrainingHistory, trainer: Trainer) throws { ended += 1 }
}

struct FitTests {
    static let graphText = TrainerTests.graphText.replacingOccurrences(of: "output loss\n", with: "output loss as loss\n")
        .replacingOccurrences(of: "output logits\n", with: "output logits as logits\n")

    func trainer(_ backend: BackendKind = .interpreter) throws -> Trainer {
        try Trainer(graph: try Parser.parse(Self.graphText), optimizer: try .parse("adam:lr=0.05"), backend: backend)
    }

    @Test("fit learns the toy task, reports every epoch to callbacks and measures validation and test", arguments: BackendKind.allCases)
    func learns(backend: BackendKind) throws {
        let t = try trainer(backend), recorder = Recorder()
        let history = try t.fit(try TrainerTests.data(400), epochs: 4, test: try TrainerTests.data(64),
                                callbacks: [recorder], progress: .silent)
        #expect(t.warnings.isEmpty, "roles are declared, nothing is guessed")
        #expect(history.epochs.map(\.epoch) == [1, 2, 3, 4] && recorder.epochs == [1, 2, 3, 4])
        #expect(recorder.began == 1 && recorder.ended == 1 && recorder.batches == 4 * (360 / 8))
        let last = try #require(history.last)
        #expect((last.validationAccuracy ?? 0) > 0.85 && (last.testAccuracy ?? 0) > 0.85)
        #expect(last.trainLoss < history.epochs[0].trainLoss)
    }

    @Test("a test label outside the logits' classes is refused before the first epoch, naming the split and row")
    func badTestLabels() throws {
        let t = try trainer(), recorder = Recorder()
        let good = try TrainerTests.data(16)
        var labels = try #require(good["labels"]).ints
        labels[5] = 7
        let test = try Dataset(["x": try #require(good["x"]), "labels": Tensor([16], ints: labels)])
        #expect(throws: Diagnostic("test split: label 7 in row 5 of 'labels' is outside the 3 classes of output 'logits'")) {
            try t.fit(try TrainerTests.data(64), epochs: 1, test: test, callbacks: [recorder], progress: .silent)
        }
        #expect(recorder.began == 0 && recorder.batches == 0)
    }

    @Test("resuming from a checkpoint continues bit-identically to an uninterrupted run")
    func resumeIsBitIdentical() throws {
        let directory = NSTemporaryDirectory() + "kiln-fit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = try TrainerTests.data(200), path = "\(directory)/c.safetensors"
        let straight = try trainer()
        try straight.fit(data, epochs: 3, progress: .silent, seed: 5)
        let first = try trainer()
        try first.fit(data, epochs: 2, checkpoint: CheckpointPolicy(path: path), progress: .silent, seed: 5)
        let resumed = try trainer()
        let history = try resumed.fit(data, epochs: 1, checkpoint: CheckpointPolicy(path: path, resume: true), progress: .silent, seed: 5)
        #expect(history.epochs.map(\.epoch) == [3])
        #expect(resumed.stepCount == straight.stepCount)
        for (name, tensor) in straight.state {
            let a = tensor.floats.map(\.bitPattern), b = resumed.state[name]?.floats.map(\.bitPattern)
            #expect(a == b, "\(name) differs after resuming")
        }
    }

    /// Copies every state tensor's values at the end of each epoch (the trainer's buffers are
    /// reused by later steps, so a copy of the values, not the tensors, is kept).
    final class StateSnapshots: TrainingCallback {
        var byEpoch: [Int: [String: [Float]]] = [:]
        func epochDidEnd(_ record: EpochRecord, trainer: Trainer) throws {
            // The stopping epoch's callback sees the restored state; only the first sighting counts.
            if byEpoch[record.epoch] == nil { byEpoch[record.epoch] = trainer.state.mapValues(\.floats) }
        }
    }

    @Test("early stopping restores the best epoch's state and saves it with kiln.best_epoch")
    func earlyStopping() throws {
        let directory = NSTemporaryDirectory() + "kiln-fit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/best.safetensors"
        // A learning rate this high makes the validation loss climb after the first epochs.
        let t = try Trainer(graph: try Parser.parse(Self.graphText), optimizer: try .parse("sgd:lr=40"))
        t.stopsOnNonFiniteLoss = false
        let snapshots = StateSnapshots()
        let history = try t.fit(try TrainerTests.data(200), epochs: 30, earlyStopping: EarlyStopping(patience: 2),
                                checkpoint: CheckpointPolicy(path: path), callbacks: [snapshots], progress: .silent)
        // The run is seeded: it must stop early, or this test would check nothing.
        let restored = try #require(history.restoredEpoch, "sgd:lr=40 should overshoot and stop early")
        let last = try #require(history.epochs.last?.epoch)
        #expect(restored < last, "the restored epoch is an earlier one than the last")
        let best = history.epochs.compactMap(\.validationLoss).filter(\.isFinite).min()
        #expect(history.epochs.first { $0.epoch == restored }?.validationLoss == best)
        #expect(history.epochs.count < 30)
        // The trainer holds the restored epoch's params, bit for bit, not the last epoch's.
        let expected = try #require(snapshots.byEpoch[restored])
        #expect(!expected.isEmpty)
        for (name, values) in expected {
            #expect(t.state[name]?.floats.map(\.bitPattern) == values.map(\.bitPattern), "\(name) is not the best epoch's")
        }
        let lastState = try #require(snapshots.byEpoch[last - 1])
        #expect(lastState.contains { name, values in t.state[name]?.floats != values }, "training after the best epoch changed something")
        // The checkpoint holds the same params and names the best epoch.
        let reloaded = try Trainer(graph: try Parser.parse(Self.graphText), optimizer: try .parse("sgd:lr=40"))
        let metadata = try reloaded.loadCheckpoint(from: path)
        #expect(metadata["kiln.best_epoch"] == String(restored))
        #expect(metadata["kiln.epoch"] == String(restored))
        for (name, values) in expected where reloaded.state[name] != nil {
            #expect(reloaded.state[name]?.floats.map(\.bitPattern) == values.map(\.bitPattern), "checkpoint's \(name)")
        }
    }

    @Test("fit refuses what it cannot do, before training")
    func errors() throws {
        let t = try trainer(), data = try TrainerTests.data(16)
        #expect(throws: Diagnostic("fit: epochs must be at least 1, got 0")) { try t.fit(data, epochs: 0, progress: .silent) }
        #expect(throws: Diagnostic("validation fraction must be in [0, 1), got 1.0")) {
            try t.fit(data, epochs: 1, validation: .fraction(1), progress: .silent)
        }
        #expect(throws: Diagnostic("fit: early stopping needs validation data")) {
            try t.fit(data, epochs: 1, validation: .none, earlyStopping: EarlyStopping(patience: 1), progress: .silent)
        }
        let wrong = try Dataset(["pixels": Tensor([16, 3], floats: [Float](repeating: 0, count: 48))])
        #expect(throws: Diagnostic.self) { try t.fit(wrong, epochs: 1, progress: .silent) }
        #expect(t.stepCount == 0)
    }

    @Test("roles: a logits output not named 'logits' gives accuracy; guessing by name warns")
    func roles() throws {
        let renamed = Self.graphText.replacingOccurrences(of: "logits", with: "scores").replacingOccurrences(of: "as scores", with: "as logits")
        let t = try Trainer(graph: try Parser.parse(renamed), optimizer: try .parse("sgd"))
        #expect(t.isClassifier && t.logits == "scores" && t.loss == "loss" && t.warnings.isEmpty)
        let legacy = try Trainer(graph: try Parser.parse(TrainerTests.graphText), optimizer: try .parse("sgd"))
        #expect(legacy.isClassifier && legacy.warnings.count == 2)
        let unnamed = TrainerTests.graphText.replacingOccurrences(of: "logits", with: "scores")
        let silent = try Trainer(graph: try Parser.parse(unnamed), optimizer: try .parse("sgd"))
        #expect(!silent.isClassifier && silent.warnings.contains { $0.contains("no output declared 'as logits'") })
    }

    @Test("a batch size other than the graph's re-specialises it")
    func batchSize() throws {
        let t = try Trainer(graph: try Parser.parse(Self.graphText), optimizer: try .parse("adam:lr=0.05"), batchSize: 5)
        #expect(t.batchSize == 5 && t.forward.input(named: "x")?.type.shape == Shape([5, 4]))
        let history = try t.fit(try TrainerTests.data(100), epochs: 2, progress: .silent)
        #expect(history.epochs.allSatisfy { $0.steps == 90 / 5 })
    }

    @Test("a one-cycle schedule sets the rate before every step, not once per epoch")
    func oneCyclePerStep() throws {
        let text = """
            graph linear {
              input x: f32[4, 2]
              param w: f32[2] = zeros
              loss = reduce_sum(mul(x, w), axes=[0, 1])
              output loss as loss
            }
            """
        let t = try Trainer(graph: try Parser.parse(text), optimizer: try .parse("sgd:lr=0.1"), backend: .interpreter)
        let data = try Dataset(["x": Tensor([40, 2], floats: Array(repeating: 1, count: 80))])
        let schedule = try LearningRateSchedule.parse("onecycle", epochs: 2)
        let history = try t.fit(data, epochs: 2, validation: .none, schedule: schedule, progress: .silent)
        // Every step's gradient is 4 (four rows of ones) for both elements of w, so after the
        // 2 × 10 steps w = −4 · (the sum of the rates the steps were fed).
        let rates = (0..<20).map { schedule.rate(base: 0.1, epoch: $0 / 10, progress: Double($0 % 10) / 10) }
        let expected = -4 * rates.reduce(0, +)
        for v in try #require(t.state["w"]).floats { #expect(Swift.abs(Double(v) - expected) < 1e-5, "w \(v), expected \(expected)") }
        #expect(history.epochs.map(\.learningRate).map { Float($0) } == [Float(rates[0]), Float(rates[10])])
    }
}
