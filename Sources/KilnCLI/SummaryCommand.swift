import ArgumentParser
import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import KilnTraining

/// `kiln summary FILE`: the layer table of a `.kiln` graph or a saved model.
struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per layer: output shape, params (trainable, frozen, state), FLOPs per example; the planned memory.",
        discussion: """
            FILE is a .kiln graph or a saved model (kiln train --save-model, Model.save). With --optimizer \
            the training step is planned too (its arena and the optimiser state).
            """)

    /// A .kiln graph, or a saved model when the name ends in .safetensors.
    @OptionGroup var graphFile: GraphFile

    @Option(help: "Plan a training step with this optimiser, e.g. adam (default: sgd when the graph has a loss).")
    var optimizer: String = "sgd"

    @Option(help: "Params counted as frozen: names or globs, comma-separated.")
    var freeze: String?

    func run() throws {
        try reportingErrors {
            let graph: Graph
            if graphFile.file.hasSuffix(".safetensors") {
                graph = try Model(contentsOf: graphFile.file, backend: .interpreter).graph
            } else {
                graph = try graphFile.load()
            }
            let frozen: [String]
            do { frozen = try freeze.map { try ParamSelection.select($0, in: graph) } ?? [] } catch let d as Diagnostic { throw CLIError("--freeze: \(d.message)") }
            let parsed: Optimizer
            do { parsed = try Optimizer.parse(optimizer) } catch let d as Diagnostic { throw CLIError("--optimizer: \(d.message)") }
            print(try GraphSummary(graph, frozen: Set(frozen), optimizer: parsed).text, terminator: "")
        }
    }
}
