import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

@main
struct Kiln: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "A computation-graph compiler with static shapes.",
        subcommands: [Dump.self, Check.self, Dot.self, Run.self, Train.self, Bench.self, Ops.self, Zoo.self, CompileTime.self]
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
    } catch let error as TypeError {
        FileHandleOutput.standardError.write("error: \(error.message)\n")
        throw ExitCode(1)
    }
}

