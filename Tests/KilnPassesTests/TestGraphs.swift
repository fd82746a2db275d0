import Foundation
import KilnIR
import KilnPasses

/// The model zoo and its training-step variants, for tests that sweep every graph.
enum TestGraphs {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Every `Graphs/*.kiln`, parsed and typed, by file name.
    static func zoo() throws -> [(String, Graph)] {
        let dir = root.appendingPathComponent("Graphs")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".kiln") }.sorted()
        return try files.map { file in
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            return (file, try inferTypes(try Parser.parse(text, file: file)))
        }
    }

    /// Forward graphs plus, for those with a scalar `loss` output, Adam training steps.
    static func forwardAndTraining() throws -> [(String, Graph)] {
        var result: [(String, Graph)] = []
        for (name, graph) in try zoo() {
            result.append((name, graph))
            if graph.valueTypes["loss"]?.rank == 0 {
                result.append(("\(name) (adam step)", try TrainingStep(loss: "loss", optimizer: Optimizer(.adam)).run(graph)))
            }
        }
        return result
    }
}
