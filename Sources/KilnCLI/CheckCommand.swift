import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a graph: exit 0 with a one-line summary, or 1 with diagnostics.",
        discussion: "Every independent error is reported (up to --max-errors), each with its file:line:col.")
    @OptionGroup var graph: GraphFile

    @Option(parsing: .unconditional, help: "Report at most this many errors (1-1000).")
    var maxErrors: Int = 20

    func validate() throws {
        guard (1...1000).contains(maxErrors) else { throw ValidationError("--max-errors must be between 1 and 1000, got \(maxErrors)") }
    }

    func run() throws {
        try reportingErrors {
            let (parsed, diagnostics) = Parser.parseReportingAll(try graph.text(), file: graph.file, limit: maxErrors)
            if diagnostics.isEmpty { try Verifier().verify(parsed) }
            // Type errors of the statements that parsed are independent of the syntax errors.
            let errors = diagnostics + typeErrors(parsed, limit: Swift.max(1, maxErrors - diagnostics.count))
            guard errors.isEmpty else {
                throw DiagnosticList(diagnostics: Array(errors.sorted { ($0.location?.line ?? 0, $0.location?.column ?? 0) < ($1.location?.line ?? 0, $1.location?.column ?? 0) }.prefix(maxErrors)))
            }
            let g = try ShapeInference().run(parsed)
            let paramCount = g.params.filter { $0.role == .param }.reduce(0) { $0 + $1.type.elementCount }
            print("\(graph.file): ok: graph \(g.name): \(g.inputs.count) inputs, \(g.params.count) params (\(paramCount) weights), \(g.nodes.count) nodes, \(g.outputs.count) outputs")
        }
    }
}
