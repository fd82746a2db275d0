import Foundation
import KilnData
import KilnIR
import KilnNN
import KilnRuntime
import KilnTraining
import Testing

/// What the trainer refuses to do: read past a logits row, carry on with a NaN loss, write a
/// NaN state over a checkpoint, or trust out-of-range checkpoint metadata.
struct TrainerSafetyTests {
    func trainer(classes: Int = 3, lr: String = "0.05") throws -> Trainer {
        let text = TrainerTests.graphText.replacingOccurrences(of: "f32[4, 3]", with: "f32[4, \(classes)]")
            .replacingOccurrences(of: "f32[3]", with: "f32[\(classes)]")
        return try Trainer(graph: try Parser.parse(text), loss: "loss", optimizer: try .parse("sgd:lr=\(lr)"))
    }

    func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "kiln-trainer-\(UUID().uuidString)-\(name)"
    }

    @Test("labels beyond the logits' width are an error, not an out-of-bounds read")
    func narrowLogits() throws {
        // The loss does not read the labels, so only evaluate's own indexing could go wrong.
        let text = "graph narrow {\n input x: f32[8, 4]\n input labels: i32[8]\n param w: f32[4, 3] = glorot_uniform\n logits = matmul(x, w)\n loss = reduce_mean(square(logits), axes=[0, 1])\n output loss, logits\n}\n"
        let t = try Trainer(graph: try Parser.parse(text), loss: "loss", optimizer: try .parse("sgd"))
        let labels = (0..<16).map { Int32($0 % 10) }
        let data = try Dataset(["x": Tensor([16, 4], floats: (0..<64).map { Float($0) / 64 }), "labels": Tensor([16], ints: labels)])
        #expect(throws: Diagnostic("label 3 is outside the 3 classes of output 'logits' f32[8, 3]; the graph's logits must have one column per class")) {
            try t.evaluate(data)
        }
    }

    @Test("a NaN loss stops training with the step number")
    func nonFiniteLoss() throws {
        let t = try trainer()
        let feeds: [String: Tensor] = ["x": Tensor([8, 4], floats: [Float](repeating: .nan, count: 32)),
                                       "labels": Tensor([8], ints: [Int32](repeating: 0, count: 8))]
        #expect(throws: Diagnostic.self) { try t.step(feeds) }
        do { try t.step(feeds) } catch let d as Diagnostic {
            #expect(d.message.hasPrefix("the loss 'loss' is NaN at step 2"))
        }
    }

    @Test("a non-finite state is never written over a checkpoint")
    func nonFiniteCheckpoint() throws {
        let t = try trainer()
        let path = temporaryPath("c.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try t.saveCheckpoint(to: path)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let w = try #require(t.state["w"]).copy()
        w.floatPointer[0] = .infinity
        t.state["w"] = w
        #expect(t.nonFiniteState == ["w"])
        #expect(throws: Diagnostic("not saving checkpoint '\(path)': w hold NaN or infinity")) { try t.saveCheckpoint(to: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == good)
    }

    @Test("checkpoint step counts outside 0...2^53 are refused", arguments: ["-5", "9223372036854775807", "1e3", ""])
    func stepMetadata(_ steps: String) throws {
        let t = try trainer()
        let path = temporaryPath("s.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafetensorsFormat.write(t.state, metadata: ["kiln.steps": steps], to: path)
        #expect(throws: Diagnostic("checkpoint '\(path)': kiln.steps '\(steps)' is not an integer in 0...\(Trainer.maximumSteps)")) {
            try t.loadCheckpoint(from: path)
        }
    }

    @Test("a checkpoint holding NaN, of another graph, or without the optimiser state is refused with the reason")
    func checkpointMismatches() throws {
        let t = try trainer()
        let path = temporaryPath("m.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var state = t.state
        let w = try #require(state["w"]).copy()
        w.floatPointer[5] = .nan
        state["w"] = w
        try SafetensorsFormat.write(state, metadata: [:], to: path)
        #expect(throws: Diagnostic("checkpoint '\(path)': 'w' holds NaN in row 1 (element 5); non-finite values are refused")) { try t.loadCheckpoint(from: path) }
        try SafetensorsFormat.write(t.state, metadata: ["kiln.graph": "lenet5"], to: path)
        #expect(throws: Diagnostic("checkpoint '\(path)' was written for graph 'lenet5', not '\(t.forward.name)' (kiln.graph)")) { try t.loadCheckpoint(from: path) }
        // An adam run's checkpoint has moments an sgd trainer does not need; the reverse lacks them.
        let adam = try Trainer(graph: try Parser.parse(TrainerTests.graphText), loss: "loss", optimizer: try .parse("adam"))
        try t.saveCheckpoint(to: path)
        do {
            try adam.loadCheckpoint(from: path)
            Issue.record("an sgd checkpoint resumed into adam")
        } catch let d as Diagnostic {
            #expect(d.message.contains("has no '") && d.message.contains("(optimiser state: the checkpoint was written with optimizer sgd"), "\(d.message)")
        }
    }

    @Test("a graph larger than the memory budget is refused before anything is allocated")
    func memoryBudget() throws {
        // The budget's own message, naming the largest tensor: any other Diagnostic is not this behaviour.
        #expect(throws: Diagnostic("graph 'tiny' needs at least 604 B, more than the memory budget of 64 B (largest: the arena of intermediates: 320 B; "
                                   + "input 'x' f32[8, 4]: 128 B; param 'w' f32[4, 3]: 96 B); raise it with --memory-budget or KILN_MEMORY_BUDGET")) {
            try Trainer(graph: try Parser.parse(TrainerTests.graphText), loss: "loss", optimizer: try .parse("sgd"),
                        memoryBudget: MemoryBudget(bytes: 64))
        }
    }

    @Test("--check-numerics names the first node that produced a NaN, with its source location")
    func firstNonFinite() throws {
        let text = "graph g {\n  input x: f32[8, 4]\n  input labels: i32[8]\n  param w: f32[4, 3] = zeros\n  logits = matmul(x, w)\n  s = log(sub(x, 0.5))\n  loss = add(softmax_cross_entropy(logits, labels), reduce_mean(s, axes=[0, 1]))\n  output loss, logits\n}\n"
        let t = try Trainer(graph: try Parser.parse(text, file: "n.kiln"), loss: "loss", optimizer: try .parse("sgd"))
        let batch = Batch(arrays: ["x": Tensor([8, 4], floats: [Float](repeating: 0.25, count: 32)),
                                  "labels": Tensor([8], ints: [Int32](repeating: 1, count: 8))], count: 8)
        let before = t.state
        #expect(throws: Diagnostic.self) { try t.step(batch) }
        let origin = try t.firstNonFinite(batch: batch, state: before, step: 0)
        #expect(origin == "'s' = log(%2) at n.kiln:6:7")
        let fine = Batch(arrays: ["x": Tensor([8, 4], floats: [Float](repeating: 0.75, count: 32)), "labels": batch["labels"] ?? Tensor.scalar(0)], count: 8)
        #expect(try t.firstNonFinite(batch: fine, state: before, step: 0) == nil)
    }
}
