import Foundation
import KilnRuntime
import Testing
@testable import KilnONNX

/// Malformed files, unsupported ops and unknown dimensions are located errors, never crashes.
@Suite struct ImportErrorTests {
    @Test func truncatedModelIsAClearError() throws {
        let bytes = try TestModels.bytes("conv_bn_pool")
        for length in [0, 1, 7, bytes.count / 3, bytes.count / 2, bytes.count - 1] {
            let message = TestModels.message {
                _ = try ONNXImporter.importModel(bytes: Array(bytes[..<length]), source: "cut.onnx", evaluator: InterpreterEvaluator())
            }
            let text = try #require(message, "a model cut to \(length) bytes imported")
            #expect(text.hasPrefix("cut.onnx: "))
        }
    }

    @Test func garbageIsNotAModel() {
        // Seeded noise: a failure reproduces with the same bytes.
        for trial in 0..<20 {
            let key = KilnRandom.key(seed: 29, step: UInt64(trial))
            let length = 1 + Int(KilnRandom.mix(UInt64(trial) &+ 29) % 399)
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: KilnRandom.mix(key &+ UInt64($0))) }
            let message = TestModels.message { _ = try ONNXImporter.importModel(bytes: bytes, source: "noise.onnx", evaluator: InterpreterEvaluator()) }
            // Noise rarely decodes as a ModelProto; when it does it must still fail cleanly.
            #expect(message?.hasPrefix("noise.onnx: ") == true)
        }
    }

    @Test func unsupportedOpNamesOpNodeAndOpset() {
        let message = TestModels.message { _ = try TestModels.load("unsupported_op") }
        #expect(message == "unsupported_op.onnx: node 'determinant' (Det, opset 17): unsupported op 'Det'")
    }

    @Test func unknownDimensionNamesTheInputAndDim() {
        let message = TestModels.message { _ = try TestModels.load("dynamic_reshape") }
        #expect(message == "dynamic_reshape.onnx: input 'x' dimension 0 ('batch') is unknown: give the full shape with --shape x=<batch>x3x4")
    }

    @Test func shapeOptionIsChecked() {
        #expect(TestModels.message { _ = try TestModels.load("dynamic_reshape", shapes: ["y": [1]]) }?.contains("the model has no input 'y'") == true)
        #expect(TestModels.message { _ = try TestModels.load("dynamic_reshape", shapes: ["x": [5, 3]]) }?.contains("rank 3, not 2") == true)
        #expect(TestModels.message { _ = try TestModels.load("dynamic_reshape", shapes: ["x": [5, 4, 4]]) }?.contains("dimension 1 is 3 in the model, not 4") == true)
    }
}
