import Foundation
import KilnIR
import KilnRuntime
import KilnTraining
import Testing

/// `--init-from`: params taken by name and type from another graph's checkpoint.
struct ParameterTransferTests {
    @Test("matching params load, a different shape is reported and kept, extra tensors are skipped")
    func transfer() throws {
        let source = try Trainer(graph: try Parser.parse("""
            graph a {
              input x: f32[4, 3]
              param w: f32[3, 5] = glorot_uniform
              param b: f32[5] = uniform(-1.0, 1.0)
              param head: f32[5, 2] = glorot_uniform
              loss = reduce_mean(matmul(add(matmul(x, w), b), head), axes=[0, 1])
              output loss as loss
            }
            """), optimizer: try .parse("adam"), seed: 1)
        let path = NSTemporaryDirectory() + "kiln-transfer-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try source.saveCheckpoint(to: path)
        let target = try Trainer(graph: try Parser.parse("""
            graph b {
              input x: f32[4, 3]
              param w: f32[3, 5] = zeros
              param b: f32[5] = zeros
              param head: f32[5, 7] = zeros
              param extra: f32[7] = zeros
              loss = reduce_mean(add(matmul(add(matmul(x, w), b), head), extra), axes=[0, 1])
              output loss as loss
            }
            """), optimizer: try .parse("sgd"), seed: 2)
        let report = try target.loadParameters(from: path)
        #expect(report.loaded == ["b", "w"])
        #expect(report.mismatched == ["head: f32[5, 2] vs f32[5, 7]"])
        #expect(report.missing == ["extra"])
        // Adam's moments and step counter of the source are not params of the target.
        #expect(report.skipped.contains("m_w") && report.skipped.contains("opt_step") && !report.skipped.contains("w"))
        #expect(try #require(target.state["w"]).floats == (try #require(source.state["w"])).floats)
        #expect(try #require(target.state["head"]).floats.allSatisfy { $0 == 0 })
        #expect(report.summary.hasPrefix("loaded 2: b, w\nshape-mismatched 1: head: f32[5, 2] vs f32[5, 7]"))
    }

    @Test("a param holding infinity is refused, naming the file, the param and the row; nothing is loaded")
    func nonFinite() throws {
        let text = "graph a {\n input x: f32[4, 3]\n param w: f32[3, 5] = glorot_uniform\n param b: f32[5] = zeros\n loss = reduce_mean(add(matmul(x, w), b), axes=[0, 1])\n output loss as loss\n}\n"
        let source = try Trainer(graph: try Parser.parse(text), optimizer: try .parse("sgd"), seed: 1)
        let w = try #require(source.state["w"]).copy()
        w.floatPointer[14] = .infinity
        let path = NSTemporaryDirectory() + "kiln-transfer-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafetensorsFormat.write(["w": w, "b": Tensor([5], floats: [1, 1, 1, 1, 1])], to: path)
        let target = try Trainer(graph: try Parser.parse(text), optimizer: try .parse("sgd"), seed: 2)
        let before = try #require(target.state["b"]).floats
        #expect(throws: Diagnostic("'\(path)': 'w' holds +infinity in row 2 (element 14); non-finite values are refused")) { try target.loadParameters(from: path) }
        #expect(try #require(target.state["b"]).floats == before)
    }
}

/// Transfer of a batch-norm model: the running statistics come along by default.
struct StatisticsTransferTests {
    @Test("a fresh trainer loading a trained model's file predicts exactly as the model did; without state it does not")
    func keepsStatistics() throws {
        let source = try ModelTests.trained()
        let test = try ReportSupport.data(40, seed: 5)
        let expected = try source.evaluate(test)
        let path = ModelTests.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Model(source).save(to: path)
        let target = try Trainer(graph: try Parser.parse(ModelTests.text), optimizer: try .parse("sgd"), backend: .interpreter, seed: 9)
        let transfer = try target.loadParameters(from: path)
        #expect(transfer.loaded == ["b2", "beta", "gamma", "mean", "var", "w", "w2"])
        let got = try target.evaluate(test)
        #expect(got.predictions == expected.predictions)
        #expect(abs(got.loss - expected.loss) < 1e-6)
        let without = try Trainer(graph: try Parser.parse(ModelTests.text), optimizer: try .parse("sgd"), backend: .interpreter, seed: 9)
        #expect(try without.loadParameters(from: path, includeState: false).loaded == ["b2", "beta", "gamma", "w", "w2"])
        #expect(try #require(without.state["mean"]).floats.allSatisfy { $0 == 0 })
        #expect(abs(try without.evaluate(test).loss - expected.loss) > 1e-3)
    }
}
