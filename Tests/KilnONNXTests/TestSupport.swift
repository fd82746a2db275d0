import Foundation
import KilnIR
import KilnRuntime
@testable import KilnONNX

/// The committed test models (built by Tests/ONNX/make_test_models.py).
enum TestModels {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Models")
    static let graphs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Graphs").standardized

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name + ".onnx")))
    }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name + ".onnx").path }

    /// Imports a committed model.
    static func load(_ name: String, shapes: [String: [Int]] = [:]) throws -> ONNXImportResult {
        try ONNXImporter.importModel(bytes: try bytes(name), source: name + ".onnx", evaluator: InterpreterEvaluator(), options: ONNXImportOptions(shapes: shapes))
    }

    /// The message of the error `body` throws (nil if it throws none).
    static func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as ONNXError { return e.message } catch { return "\(error)" }
    }
}
