import ArgumentParser
import Foundation
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import KilnSupport

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time a graph on the interpreter and the JIT (median step times), with a one-line agreement check; kiln compare checks agreement in detail.",
        discussion: "Both backends run the optimised, planned graph on the same random inputs, interleaved (A B A B …) after a warm-up.")
    @OptionGroup var graph: GraphFile
    @OptionGroup var transform: GraphTransformOptions

    @Option(parsing: .unconditional, help: "Timed steps per backend (1-1000000).")
    var steps: Int = 20

    @Option(parsing: .unconditional, help: "Warm-up steps per backend, not timed (0-1000000).")
    var warmup: Int = 3

    @Option(name: .customLong("params"), help: "A safetensors checkpoint with the param/state values to time and compare on (what kiln import or kiln train wrote); without it, the graph's seeded initialisers.")
    var checkpoint: String?

    @Option(parsing: .unconditional, help: "Memory budget, e.g. 4G or 512M (default: KILN_MEMORY_BUDGET or 3/4 of physical memory).")
    var memoryBudget: String?

    @Flag(help: "Print the time per op of one interpreter step, and per JIT kernel with its GFLOP/s and GB/s beside the machine's peaks measured at start-up (the --top slowest).")
    var profile = false

    @Option(help: "With --profile: how many of the slowest kernels and ops to list (1-100000).")
    var top: Int = 12

    @Flag(help: "Serve timed steps to a benchmark driver: after a 'ready' line, each input line 'interp' or 'jit' runs one step on that backend and prints its time in ms.")
    var serve = false

    func validate() throws {
        guard (1...1_000_000).contains(steps) else { throw ValidationError("--steps must be between 1 and 1000000, got \(steps)") }
        guard (1...100_000).contains(top) else { throw ValidationError("--top must be between 1 and 100000, got \(top)") }
        guard (0...1_000_000).contains(warmup) else { throw ValidationError("--warmup must be between 0 and 1000000, got \(warmup)") }
        do { _ = try memoryBudget.map { try MemoryBudget.parse($0) } } catch let d as Diagnostic { throw ValidationError("--memory-budget: \(d.message)") }
        if let checkpoint, checkpoint.isEmpty { throw ValidationError("--params needs a file path") }
    }

    /// The seeded initial state, with every param and state value the checkpoint holds. A
    /// checkpoint naming none of the graph's values, or a value of another type, is an error;
    /// values of other graphs (a training checkpoint's optimiser state) are ignored.
    static func state(for g: Graph, checkpoint: String?) throws -> (state: [String: Tensor], loaded: Int) {
        var state = initialState(for: g, seed: 1)
        guard let checkpoint else { return (state, 0) }
        var loaded = 0
        for (name, tensor) in try SafetensorsFormat.read(path: checkpoint).tensors {
            guard let declared = g.param(named: name) else { continue }
            guard tensor.type == declared.type else {
                throw CLIError("--params \(checkpoint): '\(name)' expects \(declared.type), the file holds \(tensor.type)")
            }
            state[name] = tensor
            loaded += 1
        }
        guard loaded > 0 || g.params.isEmpty else {
            throw CLIError("--params \(checkpoint): the file holds none of the graph's \(g.params.count) params and state values")
        }
        return (state, loaded)
    }

    func run() throws {
        try reportingErrors {
            let forward = try transform.apply(try graph.load())
            var manager = PassManager(OptimizingPipeline.passes)
            let g = try manager.run(forward)
            // Two backends, each with its own copy of the state.
            try (memoryBudget.map { try MemoryBudget.parse($0) } ?? MemoryBudget.standard()).check(g, stateCopies: 2)
            let feeds = randomFeeds(g)
            let interpreter = try Interpreter(graph: g, usePlan: true)
            let jit = try JITBackend(graph: g)
            // Params change only as whole new tensors here (a training step's updates), so
            // transforms of params alone run once per param storage.
            // KILN_PARAM_TRANSFORMS=every-step runs them every step (side-by-side benchmarks).
            jit.reusesParamTransforms = ProcessInfo.processInfo.environment["KILN_PARAM_TRANSFORMS"] != "every-step"
            print("graph \(g.name): \(g.nodes.count) kernels/ops after fusion; JIT compiled \(jit.compiledKernels), sgemm calls per step \(jit.sgemmCalls); compile \(String(format: "%.1f", jit.compileSeconds * 1000)) ms (\(jit.compileSource.rawValue))")
            let (initial, loaded) = try Self.state(for: g, checkpoint: checkpoint)
            if let checkpoint {
                print("params: \(loaded) of \(g.params.count) params and state values from \(checkpoint)\(loaded < g.params.count ? " (the others seeded)" : "")")
            }
            var s1 = initial, s2 = s1
            let a = try interpreter.run(inputs: feeds, state: &s1, step: 0)
            let b = try jit.run(inputs: feeds, state: &s2, step: 0)
            var worst: Float = 0
            for name in g.outputs {
                if let x = a[name], let y = b[name] {
                    for (u, v) in zip(x.floats, y.floats) { worst = Swift.max(worst, Swift.abs(u - v) / Swift.max(1, Swift.abs(u))) }
                }
            }
            print(String(format: "outputs agree: max relative difference %.2e %@; one step, outputs only: kiln compare checks every output, param and node", worst, worst <= 1e-4 ? "(ok)" : "(TOO LARGE)"))
            if serve {
                print(String(format: "ready compile_ms=%.3f agree=%.3e", jit.compileSeconds * 1000, worst))
                fflush(stdout)
                var count = 0
                while let line = readLine() {
                    let backend: ExecutionBackend = line.hasPrefix("jit") ? jit : interpreter
                    var state = line.hasPrefix("jit") ? s2 : s1
                    if !line.hasPrefix("jit") { JITBackend.restWorkers() }
                    let t0 = monotonicSeconds()
                    _ = try backend.run(inputs: feeds, state: &state, step: count)
                    let t = monotonicSeconds() - t0
                    if line.hasPrefix("jit") { s2 = state } else { s1 = state }
                    count += 1
                    print(String(format: "%.6f", t * 1000))
                    fflush(stdout)
                }
                return
            }
            var times: ([Double], [Double]) = ([], [])
            for i in 0..<(warmup + steps) {
                // Each backend is timed as in a loop of its own steps: the JIT's workers, which
                // spin for a while after its step, sleep during the interpreter's (whose OpenBLAS
                // threads would share their cores) and are awake again for the JIT's.
                JITBackend.restWorkers()
                var t0 = monotonicSeconds()
                _ = try interpreter.run(inputs: feeds, state: &s1, step: i)
                let ti = monotonicSeconds() - t0
                JITBackend.wakeWorkers()
                t0 = monotonicSeconds()
                _ = try jit.run(inputs: feeds, state: &s2, step: i)
                let tj = monotonicSeconds() - t0
                if i >= warmup { times.0.append(ti); times.1.append(tj) }
            }
            let mi = median(times.0), mj = median(times.1)
            print(String(format: "interpreter: median %.3f ms (min %.3f, max %.3f)", mi * 1000, (times.0.min() ?? 0) * 1000, (times.0.max() ?? 0) * 1000))
            print(String(format: "jit:         median %.3f ms (min %.3f, max %.3f)", mj * 1000, (times.1.min() ?? 0) * 1000, (times.1.max() ?? 0) * 1000))
            print(String(format: "jit speed-up: %.2f×", mi / Swift.max(mj, 1e-12)))
            if profile {
                try printProfile(g, feeds)
                jit.profiling = true
                for i in 0..<steps { _ = try jit.run(inputs: feeds, state: &s2, step: i) }
                let total = jit.kernelProfile.values.reduce(0, +)
                let peaks = try MachinePeaks.measure(session: try JITBackend.sharedSession())
                print("profile (JIT, each kernel function in place, mean over \(steps) steps): total \(String(format: "%.3f", total * 1000 / Double(steps))) ms")
                print(String(format: "machine peaks, measured now with generated code: %.1f GFLOP/s (f32 FMA, every thread), %.1f GB/s (triad)",
                             peaks.gflops, peaks.gigabytesPerSecond))
                print("      time  share  calls  GFLOP/s  of peak    GB/s  of peak  kernel")
                let costs = jit.kernelCosts, calls = jit.kernelCalls
                for (name, t) in jit.kernelProfile.sorted(by: { $0.value > $1.value }).prefix(top) {
                    let seconds = t / Double(steps), cost = costs[name] ?? (0, 0)
                    let gflops = Double(cost.flops) / Swift.max(seconds, 1e-12) / 1e9, gbs = Double(cost.bytes) / Swift.max(seconds, 1e-12) / 1e9
                    let compute = cost.flops > 0 ? String(format: "%7.1f  %6.1f%%", gflops, 100 * gflops / peaks.gflops) : "      -        -"
                    print(String(format: "  %8.3f ms %5.1f%%  %5d  %@  %6.1f  %6.1f%%  %@", seconds * 1000, 100 * t / Swift.max(total, 1e-12),
                                 calls[name] ?? 0, compute, gbs, 100 * gbs / peaks.gigabytesPerSecond, name))
                }
            }
            if worst > 1e-4 { throw ExitCode(1) }
        }
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    private func randomFeeds(_ g: Graph) -> [String: Tensor] {
        var feeds: [String: Tensor] = [:]
        for input in g.inputs {
            let key = KilnRandom.key(seed: KilnRandom.hash(input.name), step: 0)
            let n = input.type.elementCount
            if input.name == TrainingStep.learningRateInput {
                feeds[input.name] = Tensor.scalar(Float((try? transform.parsedOptimizer().learningRate) ?? 0.01))
            } else if input.type.dtype == .i32 {
                feeds[input.name] = Tensor(input.type.shape, ints: (0..<n).map { Int32(KilnRandom.uniform(key: key, index: UInt64($0)) * 2) })
            } else {
                feeds[input.name] = Tensor(input.type.shape, floats: (0..<n).map { KilnRandom.uniform(key: key, index: UInt64($0)) })
            }
        }
        return feeds
    }

    /// Times every node of the planned graph run alone on the interpreter (after a warm-up).
    private func printProfile(_ g: Graph, _ feeds: [String: Tensor]) throws {
        var state = try Self.state(for: g, checkpoint: checkpoint).state
        let all = try Interpreter(graph: g).run(inputs: feeds, state: &state, step: 0, keepAll: true)
        var rows: [(String, Double)] = []
        for node in g.nodes {
            var mini = Graph(name: "one", sourceFile: g.sourceFile)
            var builder = GraphBuilder(mini)
            var localFeeds: [String: Tensor] = [:]
            for operand in Set(node.operands) {
                guard let t = all[operand] ?? feeds[operand] ?? state[operand] else { continue }
                try builder.addInput(operand, t.type)
                localFeeds[operand] = t
            }
            try builder.append(node)
            for name in node.resultNames { try builder.addOutput(name) }
            mini = builder.graph
            let one = try Interpreter(graph: mini)
            var empty: [String: Tensor] = [:]
            _ = try one.run(inputs: localFeeds, state: &empty, step: 0)
            let t0 = monotonicSeconds()
            for _ in 0..<5 { _ = try one.run(inputs: localFeeds, state: &empty, step: 0) }
            let label = node.region.map { Printer.kernelName($0) } ?? node.op.name
            rows.append(("\(label) → \(node.resultNames.joined(separator: ", ")) \(node.type.map { "\($0)" } ?? "")", (monotonicSeconds() - t0) / 5))
        }
        let total = rows.reduce(0) { $0 + $1.1 }
        print("profile (interpreter, each op alone, mean of 5): total \(String(format: "%.3f", total * 1000)) ms")
        for (label, t) in rows.sorted(by: { $0.1 > $1.1 }).prefix(top) {
            print(String(format: "  %8.3f ms %5.1f%%  %@", t * 1000, 100 * t / Swift.max(total, 1e-12), label))
        }
    }
}
