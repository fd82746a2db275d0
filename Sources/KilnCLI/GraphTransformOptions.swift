import ArgumentParser
import Foundation
import KilnIR
import KilnPasses
import KilnSupport

/// Options shared by verbs that can turn the forward graph into a gradient or training graph.
struct GraphTransformOptions: ParsableArguments {
    @Option(name: .customLong("grad"), help: "Append the gradients of this scalar loss w.r.t. every param (outputs d_NAME).")
    var gradLoss: String?

    @Option(name: .customLong("train"), help: "Build a training step minimising this scalar loss.")
    var trainLoss: String?

    @Option(help: "Optimizer for --train: sgd|momentum|nesterov|rmsprop|adam[:lr=…,momentum=…,beta1=…,beta2=…,eps=…,weight_decay=…].")
    var optimizer: String = "sgd"

    func validate() throws {
        if gradLoss != nil, trainLoss != nil { throw ValidationError("--grad and --train are exclusive") }
        do { _ = try parsedOptimizer() } catch let d as Diagnostic { throw ValidationError("--optimizer: \(d.message)") }
    }

    /// The optimizer named by `--optimizer`.
    func parsedOptimizer() throws -> Optimizer { try Optimizer.parse(optimizer) }

    /// Applies --grad or --train to a typed graph.
    func apply(_ graph: Graph) throws -> Graph {
        if let loss = gradLoss { return try Differentiation(loss: loss).run(graph) }
        if let loss = trainLoss { return try TrainingStep(loss: loss, optimizer: try parsedOptimizer()).run(graph) }
        return graph
    }
}

/// Options that run the optimising pipeline and show what it did.
struct PipelineOptions: ParsableArguments {
    @Flag(help: "Run the default optimising pipeline (simplify, fuse, plan-memory).")
    var optimized = false

    @Option(help: "Comma-separated pass pipeline, e.g. simplify,fuse (implies --optimized).")
    var passes: String?

    @Flag(help: "Print the IR after every pass (to standard error).")
    var printAfterAll = false

    @Option(help: "Print the IR after the named pass (repeatable).")
    var printAfter: [String] = []

    @Option(help: "Print the IR before the named pass (repeatable).")
    var printBefore: [String] = []

    @Flag(help: "Print per-pass time and node counts, and fusion remarks (to standard error).")
    var stats = false

    static let defaultPipeline = OptimizingPipeline.spec

    var isActive: Bool { optimized || passes != nil }

    func validate() throws {
        if let passes {
            do { _ = try PassRegistry.pipeline(passes, options: ["loss": "loss"]) } catch let d as Diagnostic { throw ValidationError("--passes: \(d.message)") }
        }
        for (flag, names) in [("--print-after", printAfter), ("--print-before", printBefore)] {
            for name in names where !PassRegistry.names.contains(name) {
                throw ValidationError("\(flag): unknown pass '\(name)'\(Suggestions.hint(for: name, among: PassRegistry.names)) (known: \(PassRegistry.names.joined(separator: ", ")))")
            }
        }
    }

    /// Runs the pipeline over `graph`, reporting statistics on standard error when asked.
    func run(_ graph: Graph) throws -> Graph {
        guard isActive else { return graph }
        let spec = passes ?? Self.defaultPipeline
        var manager = PassManager(try PassRegistry.pipeline(spec), printAfter: Set(printAfter),
                                  printBefore: Set(printBefore), printAfterAll: printAfterAll)
        let result = try manager.run(graph)
        if stats {
            for r in manager.records {
                FileHandleOutput.standardError.write(
                    "pass \(r.pass): \(String(format: "%.2f", r.seconds * 1000)) ms, nodes \(r.nodesBefore) → \(r.nodesAfter)\n")
            }
            for r in manager.records {
                for remark in r.remarks { FileHandleOutput.standardError.write("\(r.pass): \(remark)\n") }
            }
        }
        return result
    }
}
