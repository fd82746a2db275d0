import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

@main
struct Kiln: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "A computation-graph compiler with static shapes.",
        subcommands: [Dump.self, Check.self, Dot.self]
    )
}

/// The graph file every verb reads.
struct GraphFile: ParsableArguments {
    @Argument(help: "A .kiln graph file (- for standard input).")
    var file: String

    /// Parses, verifies and type-checks the file; a failure is reported and exits 1.
    func load() throws -> Graph {
        let contents = file == "-" || file == "/dev/stdin"
            ? FileHandle.standardInput.readDataToEndOfFile()
            : FileManager.default.contents(atPath: file)
        guard let data = contents else { throw CLIError("cannot read '\(file)'") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CLIError("'\(file)' is not UTF-8 text")
        }
        let parsed = try Parser.parse(text, file: file)
        try Verifier().verify(parsed)
        return try ShapeInference().run(parsed)
    }
}

/// A failure reported to the user as one line on standard error, exit code 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = "error: " + message }
}

/// Runs a verb body, turning Kiln's diagnostics into a message and exit code 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as Diagnostic {
        FileHandleOutput.standardError.write("\(error)\n")
        throw ExitCode(1)
    } catch let error as CLIError {
        FileHandleOutput.standardError.write("\(error)\n")
        throw ExitCode(1)
    }
}

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Parse, infer types and print the IR.")
    @OptionGroup var graph: GraphFile

    func run() throws {
        try reportingErrors {
            print(try graph.load().text, terminator: "")
        }
    }
}

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

struct Dot: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the graph as Graphviz DOT.")
    @OptionGroup var graph: GraphFile

    func run() throws {
        try reportingErrors {
            print(DotExport().dot(try graph.load()), terminator: "")
        }
    }
}
