import Foundation
import KilnCheck
import KilnIR
import KilnPasses
import KilnRuntime

/// Graphs and backends shared by the comparison tests.
enum CompareSupport {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func graph(_ file: String) throws -> Graph {
        let path = root.appendingPathComponent("Graphs/\(file)").path
        return try inferTypes(try Parser.parse(try String(contentsOfFile: path, encoding: .utf8), file: "Graphs/\(file)"))
    }

    static func trainingStep(_ file: String, _ optimizer: String = "adam") throws -> Graph {
        try TrainingStep(loss: "loss", optimizer: try Optimizer.parse(optimizer)).run(try graph(file))
    }

    /// An interpreter that adds `delta` to the first element of the value `name` whenever it computes it.
    static func broken(_ name: String, delta: Float = 1) -> ComparedBackend {
        ComparedBackend(name: "broken interpreter") { graph in
            let interpreter = try Interpreter(graph: graph)
            interpreter.resultHook = { node, result in
                if node.name == name { result.floatPointer[0] += delta }
            }
            return interpreter
        }
    }
}
