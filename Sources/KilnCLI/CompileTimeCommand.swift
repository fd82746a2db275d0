import ArgumentParser
import Foundation
import KilnIR
import KilnPasses
import KilnSupport

/// `kiln compile-time FILE [--grad LOSS | --train LOSS --optimizer SPEC]`: seconds spent in each compiler phase, one line per
/// phase, for the compile-time curve in Docs/BENCHMARKS.md (graphs from Benchmarks/big_graph.py).
/// Hidden: a measuring tool, not a verb users need. Unlike `dump --stats` it also times parsing,
/// verification, differentiation and printing, which the pass manager does not record.
struct CompileTime: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile-time",
        abstract: "Time each compiler phase on a graph (parse, verify, infer, differentiate, passes, print).",
        shouldDisplay: false)
    @Argument(help: "A .kiln graph file.")
    var file: String

    @Option(name: .customLong("grad"), help: "Differentiate this scalar loss first.")
    var gradLoss: String?

    @Option(name: .customLong("train"), help: "Build a training step minimising this scalar loss first.")
    var trainLoss: String?

    @Option(help: "Optimizer for --train (as for dump).")
    var optimizer: String = "sgd"

    @Option(help: "Comma-separated pass pipeline.")
    var passes: String = PipelineOptions.defaultPipeline

    func run() throws {
        try reportingErrors {
            guard let data = FileManager.default.contents(atPath: file),
                  let text = String(data: data, encoding: .utf8) else { throw CLIError("cannot read '\(file)'") }
            var lines: [String] = []
            func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
                let start = monotonicSeconds()
                let result = try body()
                let padded = phase.padding(toLength: 14, withPad: " ", startingAt: 0)
                lines.append(padded + String(format: "%8.3f s", monotonicSeconds() - start))
                return result
            }
            let parsed = try timed("parse") { try Parser.parse(text, file: file) }
            try timed("verify") { try Verifier().verify(parsed) }
            var graph = try timed("infer-shapes") { try inferTypes(parsed) }
            if let loss = gradLoss {
                graph = try timed("differentiate") { try Differentiation(loss: loss).run(graph) }
                try timed("verify") { try Verifier().verify(graph) }
            } else if let loss = trainLoss {
                let step = TrainingStep(loss: loss, optimizer: try Optimizer.parse(optimizer))
                graph = try timed("training-step") { try step.run(graph) }
                try timed("verify") { try Verifier().verify(graph) }
            }
            let nodesIn = graph.nodes.count
            for pass in try PassRegistry.pipeline(passes) {
                graph = try timed(pass.name) { try pass.run(graph) }
                try timed("verify") { try Verifier().verify(graph) }
            }
            let printed = timed("print") { graph.text }
            print("\(file): \(nodesIn) nodes → \(graph.nodes.count), \(printed.utf8.count) bytes of IR")
            for line in lines { print(line) }
        }
    }
}
