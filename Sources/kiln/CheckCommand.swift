import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a graph: exit 0 with a one-line summary, or 1 with diagnostics.")
    @OptionGroup var graph: GraphFile

    func run() throws {
        try reportingErrors {
            let g = try graph.load()
            let paramCount = g.params.filter { $0.role == .param }.reduce(0) { $0 + $1.type.elementCount }
            print("\(graph.file): ok: graph \(g.name): \(g.inputs.count) inputs, \(g.params.count) params (\(paramCount) weights), \(g.nodes.count) nodes, \(g.outputs.count) outputs")
        }
    }
}
