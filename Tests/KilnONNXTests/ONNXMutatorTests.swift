import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// A short run of the `make fuzz` ONNX mutator inside `swift test`: structurally mutated
/// models (attributes at 0, −1, 2^31, 2^62; ranks 0–6; values defined twice or renamed) must
/// import or fail with an `ONNXError` — a trap here ends the test process — and what imports
/// must check like any `.kiln` file, as `kiln import` requires before it writes.
struct ONNXMutatorTests {
    static let seeds = ["conv_bn_pool", "depthwise_layernorm", "gemm_relu", "dynamic_reshape"]

    @Test("mutated models import or fail with a located error; what imports type-checks", arguments: seeds)
    func mutations(_ name: String) throws {
        let original = try TestModels.bytes(name)
        var imported = 0, refused = 0, unchecked: [String] = []
        for seed in 0..<(Int(ProcessInfo.processInfo.environment["KILN_MUTATIONS"] ?? "") ?? 150) {
            guard let bytes = ONNXMutator.mutate(original, seed: UInt64(seed)) else { continue }
            do {
                let result = try ONNXImporter.importModel(bytes: bytes, source: "m.onnx", evaluator: InterpreterEvaluator(), options: ONNXImportOptions(shapes: name == "dynamic_reshape" ? ["x": [2, 3, 4]] : [:]))
                imported += 1
                do {
                    try Verifier().verify(result.graph)
                    _ = try ShapeInference().run(result.graph)
                } catch {
                    unchecked.append("seed \(seed): \(error)")
                }
            } catch let error as ONNXError {
                refused += 1
                #expect(error.message.hasPrefix("m.onnx: "), "seed \(seed): \(error.message)")
            }
        }
        print("\(name): \(imported) imported, \(refused) refused")
        #expect(imported + refused > 100)
        #expect(unchecked.isEmpty, "\(unchecked.count) imported graphs fail to check, first: \(unchecked.prefix(3))")
    }
}
