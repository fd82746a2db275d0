import Foundation
import KilnData
import KilnIR
import KilnNN
import KilnPasses
import KilnRuntime
import KilnTraining
import Testing

struct ZooTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var generated: [String] {
        ["rnn", "lstm", "autoencoder", "vae", "transformer", "gan", "lenet5_dropout", "resnet_small", "rbm_cd1", "rbm_cd5", "rbm_pcd1", "rbm_pcd5"]
    }

    @Test("each generated Graphs/ file is exactly what the DSL builds (regenerate with kiln zoo)", arguments: generated)
    func filesMatchDSL(_ name: String) throws {
        let graph = try #require(try Models.all().first { $0.0 == name }?.1)
        let text = try String(contentsOf: Self.root.appendingPathComponent("Graphs/\(name).kiln"), encoding: .utf8)
        let parsed = try inferTypes(try Parser.parse(text))
        #expect(parsed == graph)
        #expect(parsed.text == graph.text)
    }

    /// A fixed batch of synthetic images (pixel patterns depending on the label) for overfitting.
    static func batch(_ trainer: Trainer) -> Batch {
        let n = trainer.batchSize, size = (trainer.featureInput?.type.elementCount ?? 0) / n
        let labels = (0..<n).map { Int32($0 % 10) }
        var pixels: [Float] = []
        for (i, label) in labels.enumerated() {
            for p in 0..<size { pixels.append(p % 10 == Int(label) ? 0.9 : 0.1 * KilnRandom.uniform(seed: 3, step: UInt64(i), index: UInt64(p))) }
        }
        return Batch(arrays: ["images": Tensor(Shape([n, size]), floats: pixels), "labels": Tensor(Shape([n]), ints: labels)], count: n)
    }

    @Test("every zoo model: the loss falls over 20 steps on a fixed batch",
          arguments: generated.filter { $0 != "gan" && !$0.hasPrefix("rbm_") } + ["mlp", "lenet5"])
    func learns(_ name: String) throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Graphs/\(name).kiln"), encoding: .utf8)
        let trainer = try Trainer(graph: try Parser.parse(text, file: name), loss: "loss", optimizer: try .parse("adam:lr=0.003"))
        let b = Self.batch(trainer)
        let first = try trainer.step(b)
        var last = first
        for _ in 0..<19 { last = try trainer.step(b) }
        #expect(last < first * 0.9, "\(name): loss \(first) → \(last)")
    }

    @Test("GAN: each step trains only its half of the params, on both backends alike")
    func gan() throws {
        let graph = try Models.gan(batch: 8)
        let interp = try GANTrainer(graph: graph, optimizer: try .parse("adam:lr=0.001"))
        let jit = try GANTrainer(graph: graph, optimizer: try .parse("adam:lr=0.001"), backend: .jit)
        let before = interp.state
        let images = Batch(arrays: ["images": Tensor([8, 784], floats: (0..<(8 * 784)).map { Float($0 % 7) / 7 })], count: 8)
        let (d, g) = try interp.step(images)
        _ = try jit.step(images)
        #expect(d.isFinite && g.isFinite)
        for name in ["gen_w1", "disc_w1"] {
            #expect(interp.state[name]?.floats != before[name]?.floats, "\(name) was not updated")
            let a = try #require(interp.state[name]).floats, b = try #require(jit.state[name]).floats
            #expect(zip(a, b).allSatisfy { Swift.abs($0 - $1) <= 1e-4 }, "\(name) differs between backends")
        }
        #expect(!interp.discriminatorStep.updates.contains { $0.target == "gen_w1" })
        #expect(!interp.generatorStep.updates.contains { $0.target == "disc_w1" })
    }

    @Test("resnet_small: residual blocks with batch norm, a strided downsample per later stage, global average pooling")
    func residualNetwork() throws {
        let graph = try Models.resnetSmall()
        let types = graph.valueTypes
        #expect(types["stem_out"] == TensorType(.f32, [128, 24, 28, 28]))
        #expect(types["s1b1_out"] == TensorType(.f32, [128, 24, 28, 28]))
        #expect(types["s2b1_out"] == TensorType(.f32, [128, 48, 14, 14]))
        #expect(types["s3b1_out"] == TensorType(.f32, [128, 96, 7, 7]))
        #expect(types["pooled"] == TensorType(.f32, [128, 96]))
        let strided = graph.nodes.filter { $0.op == .conv2d && $0.attributes["stride"] == .ints([2, 2]) }
        #expect(strided.count == 4)  // the first convolution and the 1×1 projection of stages 2 and 3
        // Each block adds its shortcut: the identity in stage 1 reads the stem's output.
        #expect(graph.nodes.contains { $0.op == .add && $0.operands.contains("stem_out") })
        #expect(graph.nodes.filter { $0.op == .if_training }.count == 2 * 9)  // 9 batch norms (stem, 2 + 3 + 3 in the blocks): mean and variance
        #expect(graph.updates.count == 2 * 9)
        for (widths, blocks) in [([Int](), 1), ([8, 0], 1), ([8], 0)] {
            #expect(throws: Diagnostic.self) { try Models.resnetSmall(batch: 8, widths: widths, blocks: blocks) }
        }
        let deeper = try Models.resnetSmall(batch: 8, widths: [8, 16], blocks: 2)
        #expect(deeper.valueTypes["s2b2_out"] == TensorType(.f32, [8, 16, 14, 14]))
    }
}
