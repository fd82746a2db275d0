import ArgumentParser
import Foundation
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import KilnSupport

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a graph once on .npy inputs and write each output as DIR/NAME.npy.",
        discussion: """
            Parameters come from their initialisers (seeded by --seed) unless --param or --params give \
            their values. With --grad LOSS the gradients are outputs too, written as DIR/d_NAME.npy.
            """)
    @OptionGroup var graph: GraphFile
    @OptionGroup var transform: GraphTransformOptions
    @OptionGroup var pipeline: PipelineOptions

    @Option(name: .customLong("input"), help: "An input: NAME=PATH.npy (repeatable).")
    var inputs: [String] = []

    @Option(name: .customLong("param"), help: "A param or state value: NAME=PATH.npy (repeatable).")
    var params: [String] = []

    @Option(name: .customLong("params"), help: "A safetensors checkpoint holding param/state values.")
    var checkpoint: String?

    @Option(parsing: .unconditional, help: "Seed of the parameter initialisers.")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Step number fed to random ops (dropout, random_normal), 0 to 2^53.")
    var step: Int = 0

    @Option(parsing: .unconditional, help: "Memory budget, e.g. 4G or 512M (default: KILN_MEMORY_BUDGET or 3/4 of physical memory).")
    var memoryBudget: String?

    @Option(help: "Directory for the outputs (created if missing).")
    var outputDir: String = "out"

    @Option(help: "Backend: jit (default: compiled through LLVM) or interp (the reference interpreter).")
    var backend: String = "jit"

    @Flag(help: "Execute in the memory plan's arena (runs plan-memory if the pipeline did not).")
    var plan = false

    func validate() throws {
        guard (0...(1 << 53)).contains(step) else { throw ValidationError("--step must be between 0 and 2^53, got \(step)") }
        guard backend == "interp" || backend == "jit" else { throw ValidationError("unknown backend '\(backend)' (interp or jit)") }
        do { _ = try memoryBudget.map { try MemoryBudget.parse($0) } } catch let d as Diagnostic { throw ValidationError("--memory-budget: \(d.message)") }
        try OutputPaths.checkDirectory("--output-dir", outputDir)
    }

    func run() throws {
        try reportingErrors {
            guard backend == "interp" || backend == "jit" else { throw CLIError("unknown backend '\(backend)' (interp or jit)") }
            var g = try pipeline.run(try transform.apply(try graph.load()))
            if backend == "jit" && !pipeline.isActive { g = try OptimizingPipeline.run(g) }
            if plan && g.memoryPlan == nil { g = try MemoryPlanner().run(g) }
            try (memoryBudget.map { try MemoryBudget.parse($0) } ?? MemoryBudget.standard()).check(g)
            var feeds: [String: Tensor] = [:]
            for (name, path) in try pairs(inputs, "--input") {
                guard let declared = g.inputs.first(where: { $0.name == name }) else {
                    throw CLIError("--input \(name): the graph has no input '\(name)'\(Suggestions.hint(for: name, among: g.inputs.map(\.name))) (inputs: \(g.inputs.map(\.name).joined(separator: ", ")))")
                }
                let tensor = try NumPyFormat.read(path: path)
                // The interpreter checks types too; saying it here names the flag and the file.
                guard tensor.type == declared.type else {
                    throw CLIError("--input \(name): expects \(declared.type), '\(path)' holds \(tensor.type)")
                }
                feeds[name] = tensor
            }
            if transform.trainLoss != nil, feeds[TrainingStep.learningRateInput] == nil {
                feeds[TrainingStep.learningRateInput] = Tensor.scalar(Float(try transform.parsedOptimizer().learningRate))
            }
            for input in g.inputs where feeds[input.name] == nil {
                throw CLIError("missing input '\(input.name)' (expects \(input.type)): pass --input \(input.name)=PATH.npy")
            }
            var state = initialState(for: g, seed: seed)
            if let checkpoint {
                let given = Set(try pairs(params, "--param").map(\.0))
                let tensors = try SafetensorsFormat.read(path: checkpoint).tensors
                // A trainable param missing from the checkpoint would silently keep its
                // initialiser; optimiser state (moments, counters) starts from its initialiser
                // by design, but is named so that it is not silent either.
                let absent = g.params.filter { tensors[$0.name] == nil && !given.contains($0.name) }
                let missing = absent.filter { $0.role == .param }.map(\.name)
                guard missing.isEmpty else {
                    throw CLIError("--params '\(checkpoint)' has no \(missing.map { "'\($0)'" }.joined(separator: ", ")) (give it with --param NAME=PATH.npy)")
                }
                let fresh = absent.map(\.name)
                if !fresh.isEmpty {
                    FileHandleOutput.standardError.write("note: --params '\(checkpoint)' has no state \(fresh.joined(separator: ", ")); initialised\n")
                }
                for (name, tensor) in tensors where state[name] != nil {
                    if let declared = g.param(named: name), declared.type != tensor.type {
                        throw CLIError("--params '\(checkpoint)': '\(name)' is \(tensor.type), the graph needs \(declared.type)")
                    }
                    state[name] = tensor
                }
            }
            for (name, path) in try pairs(params, "--param") {
                guard let declared = g.param(named: name) else { throw CLIError("--param \(name): the graph has no param or state '\(name)'") }
                let tensor = try NumPyFormat.read(path: path)
                guard tensor.type == declared.type else {
                    throw CLIError("--param \(name): expects \(declared.type), the file holds \(tensor.type)")
                }
                state[name] = tensor
            }
            let executor: ExecutionBackend = backend == "jit" ? try JITBackend(graph: g) : try Interpreter(graph: g, usePlan: plan)
            let outputs = try executor.run(inputs: feeds, state: &state, step: step)
            // All outputs or none: a failure part-way leaves the directory as it was.
            let set = try OutputSet(directory: outputDir)
            for name in g.outputs {
                guard let tensor = outputs[name] else { continue }
                try set.add("\(name).npy", bytes: NumPyFormat.encode(tensor))
            }
            for update in g.updates {
                if let tensor = state[update.target] { try set.add("\(update.target).npy", bytes: NumPyFormat.encode(tensor)) }
            }
            try set.commit()
            for name in g.outputs {
                if let tensor = outputs[name] { print("\(name): \(tensor.type)  \(summary(tensor))") }
            }
            if pipeline.stats, let interpreter = executor as? Interpreter {
                let s = interpreter.lastStats
                FileHandleOutput.standardError.write("peak intermediates \(formatBytes(s.peakBytes)) of \(formatBytes(s.totalIntermediateBytes)) total, \(String(format: "%.3f", s.seconds * 1000)) ms\n")
            }
        }
    }

    private func pairs(_ items: [String], _ flag: String) throws -> [(String, String)] {
        let pairs = try items.map { item in
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw CLIError("\(flag) '\(item)': expected NAME=PATH")
            }
            return (String(item[..<eq]), String(item[item.index(after: eq)...]))
        }
        // A repeated name used to let the last one win without a word.
        var seen: Set<String> = []
        for (name, _) in pairs where !seen.insert(name).inserted { throw CLIError("\(flag) \(name) is given twice") }
        return pairs
    }

    private func summary(_ t: Tensor) -> String {
        let values = t.floats
        guard let lo = values.min(), let hi = values.max() else { return "" }
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        return String(format: "min %.6g  max %.6g  mean %.6g", lo, hi, mean)
    }
}
