import Foundation
import KilnRuntime
import Testing
@testable import kiln

/// `kiln import` and `kiln export` through the built binary: files written, errors on one line
/// with exit status 1.
struct ONNXCommandTests {
    static let models = repositoryRoot.appendingPathComponent("Tests/KilnONNXTests/Models")

    @Test("import writes a graph and weights that `kiln run` runs to the values of an independent reference, on both backends")
    func importWritesGraphAndWeightsThatRun() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/model.kiln"
        let r = try runKiln(["import", Self.models.appendingPathComponent("conv_bn_pool.onnx").path, "-o", out])
        #expect(r.status == 0, "\(r.err)")
        #expect(try runKiln(["check", out]).status == 0)
        let weights = try SafetensorsFormat.read(path: "\(dir)/model.safetensors").tensors
        #expect(Set(weights.keys) == ["w", "cb", "scale", "bias", "mean", "var"])
        // A seeded input, run through the imported graph with the imported weights.
        let x = Tensor([1, 2, 6, 6], floats: (0..<72).map { 2 * KilnRandom.uniform(seed: 29, step: 0, index: UInt64($0)) - 1 })
        try NumPyFormat.write(x, to: "\(dir)/x.npy")
        let want = try Self.convBNPoolReference(x.floats, weights)
        #expect(want.count == 3)
        for backend in ["interp", "jit"] {
            let run = try runKiln(["run", out, "--input", "x=\(dir)/x.npy", "--params", "\(dir)/model.safetensors",
                                   "--backend", backend, "--output-dir", "\(dir)/\(backend)"])
            #expect(run.status == 0, "\(backend): \(run.err)")
            let y = try NumPyFormat.read(path: "\(dir)/\(backend)/y.npy")
            #expect(y.shape == [1, 3])
            for (got, expected) in zip(y.floats, want) {
                #expect(abs(Double(got) - expected) <= 1e-4 * (1 + abs(expected)), "\(backend): y = \(y.floats), reference \(want)")
            }
        }
    }

    /// conv_bn_pool computed directly from its ONNX definition (Tests/ONNX/make_test_models.py)
    /// in Double: Conv (pads top 1, right 1) + bias, BatchNormalization (ε = 1e-5), MaxPool 2×2
    /// stride 2, global average pool, flatten.
    static func convBNPoolReference(_ x: [Float], _ t: [String: Tensor]) throws -> [Double] {
        func values(_ name: String) throws -> [Double] { try #require(t[name]).floats.map(Double.init) }
        let (w, cb, scale, bias, mean, variance) = (try values("w"), try values("cb"), try values("scale"),
                                                    try values("bias"), try values("mean"), try values("var"))
        // Padded input 7×7: one row on top, one column on the right.
        func input(_ c: Int, _ i: Int, _ j: Int) -> Double {
            let (r, col) = (i - 1, j)
            return (0..<6).contains(r) && (0..<6).contains(col) ? Double(x[c * 36 + r * 6 + col]) : 0
        }
        var y: [Double] = []
        for o in 0..<3 {
            var n = [[Double]](repeating: [Double](repeating: 0, count: 5), count: 5)
            for i in 0..<5 {
                for j in 0..<5 {
                    var sum = cb[o]
                    for c in 0..<2 { for a in 0..<3 { for b in 0..<3 { sum += w[((o * 2 + c) * 3 + a) * 3 + b] * input(c, i + a, j + b) } } }
                    n[i][j] = (sum - mean[o]) / (variance[o] + 1e-5).squareRoot() * scale[o] + bias[o]
                }
            }
            var pooled = 0.0
            for i in 0..<2 { for j in 0..<2 { pooled += [n[2 * i][2 * j], n[2 * i][2 * j + 1], n[2 * i + 1][2 * j], n[2 * i + 1][2 * j + 1]].max() ?? 0 } }
            y.append(pooled / 4)
        }
        return y
    }

    @Test func dynamicDimensionNeedsShape() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = Self.models.appendingPathComponent("dynamic_reshape.onnx").path
        let missing = try runKiln(["import", model, "-o", "\(dir)/d.kiln"])
        #expect(missing.status == 1)
        #expect(missing.err.contains("dimension 0 ('batch') is unknown: give the full shape with --shape x="))
        #expect(try runKiln(["import", model, "-o", "\(dir)/d.kiln", "--shape", "x=2x3x4"]).status == 0)
        let bad = try runKiln(["import", model, "-o", "\(dir)/d.kiln", "--shape", "x=2xx4"])
        #expect(bad.status == 1 && bad.err.contains("--shape x"))
    }

    @Test("--bind: its syntax, the file kind and a missing file are one-line errors")
    func bindOptionIsChecked() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let model = Self.models.appendingPathComponent("dynamic_reshape.onnx").path
        let noValue = try runKiln(["import", model, "-o", "\(dir)/d.kiln", "--bind", "x="])
        #expect(noValue.status == 1 && noValue.err.contains("--bind 'x=': expected NAME=FILE.npy or NAME=FILE.pb"))
        let kind = try runKiln(["import", model, "-o", "\(dir)/d.kiln", "--bind", "x=\(dir)/x.txt"])
        #expect(kind.status == 1 && kind.err.contains("is neither a .npy nor a .pb"))
        let missing = try runKiln(["import", model, "-o", "\(dir)/d.kiln", "--bind", "x=\(dir)/none.npy"])
        #expect(missing.status == 1 && missing.err.hasPrefix("error: ") && missing.err.contains("none.npy"))
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/d.kiln"))
    }

    @Test func unsupportedOpIsOneLineError() throws {
        let r = try runKiln(["import", Self.models.appendingPathComponent("unsupported_op.onnx").path, "-o", makeTemporaryDirectory() + "/u.kiln"])
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("error: ") && r.err.contains("node 'determinant' (Det, opset 17): unsupported op 'Det'"))
    }

    @Test("ONNX names with newlines cannot leave the .kiln header comment")
    func headerNamesAreEscaped() {
        #expect(Import.commentText("x\n}\ngraph evil {") == "xU+000A}U+000Agraph evil {")
        #expect(Import.commentText("a\u{2028}b\rc") == "aU+2028bU+000Dc")
        #expect(Import.commentText("input.1 /conv1") == "input.1 /conv1")
    }

    @Test func exportWritesAModelThatImportsBack() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runKiln(["export", repositoryRoot.appendingPathComponent("Graphs/lenet5.kiln").path, "-o", "\(dir)/lenet5.onnx"])
        #expect(r.status == 0, "\(r.err)")
        #expect(try runKiln(["import", "\(dir)/lenet5.onnx", "-o", "\(dir)/back.kiln"]).status == 0)
    }
}

/// `kiln bench --params`: an imported graph timed and compared on its imported weights.
struct BenchParamsTests {
    @Test("bench --params loads the import's weights (the agreement line is on them); a checkpoint of another graph is an error")
    func benchParams() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/model.kiln"
        #expect(try runKiln(["import", ONNXCommandTests.models.appendingPathComponent("conv_bn_pool.onnx").path, "-o", out]).status == 0)
        let r = try runKiln(["bench", out, "--params", "\(dir)/model.safetensors", "--steps", "1", "--warmup", "0"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("params: 6 of 6 params and state values from \(dir)/model.safetensors"), "\(r.out)")
        #expect(r.out.contains("outputs agree: max relative difference"))
        let other = "\(dir)/other.kiln"
        #expect(try runKiln(["import", ONNXCommandTests.models.appendingPathComponent("gemm_relu.onnx").path, "-o", other]).status == 0)
        let wrong = try runKiln(["bench", out, "--params", "\(dir)/other.safetensors", "--steps", "1", "--warmup", "0"])
        #expect(wrong.status == 1)
        #expect(wrong.err.contains("holds none of the graph's") || wrong.err.contains("expects"), "\(wrong.err)")
        let missing = try runKiln(["bench", out, "--params", "\(dir)/nothing.safetensors", "--steps", "1"])
        #expect(missing.status != 0)
    }
}
