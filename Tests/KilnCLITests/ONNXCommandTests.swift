import Foundation
import Testing
@testable import kiln

/// `kiln import` and `kiln export` through the built binary: files written, errors on one line
/// with exit status 1.
struct ONNXCommandTests {
    static let models = repositoryRoot.appendingPathComponent("Tests/KilnONNXTests/Models")

    @Test func importWritesGraphAndWeightsThatRun() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/model.kiln"
        let r = try runKiln(["import", Self.models.appendingPathComponent("conv_bn_pool.onnx").path, "-o", out])
        #expect(r.status == 0, "\(r.err)")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/model.safetensors"))
        #expect(try runKiln(["check", out]).status == 0)
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

    @Test func unsupportedOpIsOneLineError() throws {
        let r = try runKiln(["import", Self.models.appendingPathComponent("unsupported_op.onnx").path, "-o", makeTemporaryDirectory() + "/u.kiln"])
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("error: ") && r.err.contains("node 'contract' (Einsum, opset 17): unsupported op 'Einsum'"))
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
