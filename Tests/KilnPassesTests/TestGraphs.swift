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

    /// Forward graphs plus, for those with a scalar `loss` output, Adam training steps; with
    /// `batch`, each graph whose inputs share a leading batch size is re-specialised to it
    /// (the same ops and passes, a fraction of the interpreter's time in a debug build).
    static func forwardAndTraining(batch: Int? = nil) throws -> [(String, Graph)] {
        var result: [(String, Graph)] = []
        for (name, zooGraph) in try zoo() {
            var graph = zooGraph
            if let batch, let from = graph.inputs.first?.type.shape.dims.first, from != batch,
               let smaller = try? BatchSpecialization(from: from, to: batch).run(graph) {
                graph = smaller
            }
            result.append((name, graph))
            if graph.valueTypes["loss"]?.rank == 0 {
                result.append(("\(name) (adam step)", try TrainingStep(loss: "loss", optimizer: Optimizer(.adam)).run(graph)))
            }
        }
        return result
    }
}
