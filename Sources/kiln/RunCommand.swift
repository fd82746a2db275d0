import ArgumentParser
import Foundation
import KilnIR
import KilnPasses
import KilnJIT
import KilnRuntime

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

    @Option(help: "Seed of the parameter initialisers.")
    var seed: UInt64 = 0

    @Option(help: "Step number fed to random ops (dropout, random_normal).")
    var step: Int = 0

    @Option(help: "Directory for the outputs (created if missing).")
    var outputDir: String = "out"

    @Option(help: "Backend: interp or jit.")
    var backend: String = "interp"

    @Flag(help: "Execute in the memory plan's arena (runs plan-memory if the pipeline did not).")
    var plan = false

    func run() throws {
        try reportingErrors {
            guard backend == "interp" || backend == "jit" else { throw CLIError("unknown backend '\(backend)' (interp or jit)") }
            var g = try pipeline.run(try transform.apply(try graph.load()))
            if backend == "jit" && !pipeline.isActive { g = try MemoryPlanner().run(try Fusion().run(try Simplify().run(g))) }
            if plan && g.memoryPlan == nil { g = try MemoryPlanner().run(g) }
            var feeds: [String: Tensor] = [:]
            for (name, path) in try pairs(inputs, "--input") { feeds[name] = try NumPyFormat.read(path: path) }
            if transform.trainLoss != nil, feeds[TrainingStep.learningRateInput] == nil {
                feeds[TrainingStep.learningRateInput] = Tensor.scalar(Float(try transform.parsedOptimizer().learningRate))
            }
            for input in g.inputs where feeds[input.name] == nil {
                throw CLIError("missing input '\(input.name)' (expects \(input.type)): pass --input \(input.name)=PATH.npy")
            }
            var state = initialState(for: g, seed: seed)
            if let checkpoint {
                for (name, tensor) in try SafetensorsFormat.read(path: checkpoint).tensors where state[name] != nil {
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
            try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
            for name in g.outputs {
                guard let tensor = outputs[name] else { continue }
                try NumPyFormat.write(tensor, to: "\(outputDir)/\(name).npy")
                print("\(name): \(tensor.type)  \(summary(tensor))")
            }
            for update in g.updates {
                if let tensor = state[update.target] { try NumPyFormat.write(tensor, to: "\(outputDir)/\(update.target).npy") }
            }
            if pipeline.stats, let interpreter = executor as? Interpreter {
                let s = interpreter.lastStats
                FileHandleOutput.standardError.write("peak intermediates \(formatBytes(s.peakBytes)) of \(formatBytes(s.totalIntermediateBytes)) total, \(String(format: "%.3f", s.seconds * 1000)) ms\n")
            }
        }
    }

    private func pairs(_ items: [String], _ flag: String) throws -> [(String, String)] {
        try items.map { item in
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw CLIError("\(flag) '\(item)': expected NAME=PATH")
            }
            return (String(item[..<eq]), String(item[item.index(after: eq)...]))
        }
    }

    private func summary(_ t: Tensor) -> String {
        let values = t.floats
        guard let lo = values.min(), let hi = values.max() else { return "" }
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        return String(format: "min %.6g  max %.6g  mean %.6g", lo, hi, mean)
    }
}
