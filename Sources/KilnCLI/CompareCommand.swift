import ArgumentParser
import Foundation
import KilnCheck
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a graph on the interpreter and the JIT for N steps and compare every output, param and optimiser state.",
        discussion: """
            Both backends run the optimised graph (simplify, fuse, plan-memory, as the JIT does) on the same \
            inputs from the same initial state, each carrying its own state forward. An element passes when \
            |jit − interpreter| <= atol + rtol·|interpreter| (numpy allclose; NaN matches NaN). After the first \
            step the two runs' states differ by rounding, which batch norm and Adam amplify: unless --strict, \
            each later step is also run on the interpreter from the JIT's own state, and a tensor outside the \
            tolerance passes as drift when that step agrees (a third run), or as flips when only single elements \
            differ (relative RMS within --drift-rms: rounding tipped a max-pool or ReLU choice). With --nodes, \
            the first node whose result is wrong given its own operands is named, with its source line and, \
            for a fused kernel, the op inside it. Exit status 1 when anything is outside the tolerance.
            """)
    @OptionGroup var graph: GraphFile
    @OptionGroup var transform: GraphTransformOptions

    @Option(name: .customLong("input"), help: "An input: NAME=PATH.npy (repeatable; the same every step).")
    var inputs: [String] = []

    @Option(name: .customLong("param"), help: "A param or state value: NAME=PATH.npy (repeatable).")
    var params: [String] = []

    @Option(name: .customLong("params"), help: "A safetensors checkpoint holding param/state values.")
    var checkpoint: String?

    // `.unconditional` (here and below): `--steps -1` reaches validate() and its message
    // instead of ArgumentParser's "Missing value for '--steps'".
    @Option(parsing: .unconditional, help: "Steps to run on each backend, each feeding its own state forward (1-1000000).")
    var steps: Int = 1

    @Option(help: "Inputs from data: fashion-mnist, or PATH.npz (arrays named after inputs, or features + labels).")
    var data: String?

    @Option(parsing: .unconditional, help: "Relative tolerance.")
    var rtol: Double = Tolerance().rtol

    @Option(parsing: .unconditional, help: "Absolute tolerance.")
    var atol: Double = Tolerance().atol

    @Flag(help: "Find the first node that diverges, in schedule order, and the op inside a fused kernel.")
    var nodes = false

    @Flag(help: "Judge every step by the backends' own runs alone (accumulated drift fails), not also from the same state.")
    var strict = false

    @Option(parsing: .unconditional, help: "After step 0: the relative RMS difference a tensor may have when single elements differ even within one step from the same state.")
    var driftRms: Double = 0.02

    @Option(help: "Also write the whole report as JSON to this file (atomically).")
    var json: String?

    @Option(parsing: .unconditional, help: "Seed of the initialisers and of the random inputs.")
    var seed: UInt64 = 0

    static let maximumSteps = 1_000_000

    func validate() throws {
        // Bounded like bench's steps: 2^31 steps was accepted and ran for days.
        guard (1...Self.maximumSteps).contains(steps) else { throw ValidationError("--steps must be between 1 and \(Self.maximumSteps), got \(steps)") }
        guard rtol.isFinite, rtol >= 0 else { throw ValidationError("--rtol must be a finite number >= 0, got \(rtol)") }
        guard atol.isFinite, atol >= 0 else { throw ValidationError("--atol must be a finite number >= 0, got \(atol)") }
        guard driftRms.isFinite, driftRms >= 0 else { throw ValidationError("--drift-rms must be a finite number >= 0, got \(driftRms)") }
        if let json, json.isEmpty { throw ValidationError("--json needs a file path") }
        try OutputPaths.checkFile("--json", json)
    }

    func run() throws {
        var passed = true
        try reportingErrors {
            if let json {
                // Fail before a long comparison, not after it.
                let directory = URL(fileURLWithPath: json).deletingLastPathComponent().path
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
                      FileManager.default.isWritableFile(atPath: directory) else {
                    throw CLIError("--json \(json): '\(directory)' is not a writable directory")
                }
            }
            var manager = PassManager(OptimizingPipeline.passes)
            let g = try manager.run(try transform.apply(try graph.load()))
            var given: [String: Tensor] = [:]
            for (name, path) in try Self.pairs(inputs, "--input") { given[name] = try NumPyFormat.read(path: path) }
            let rate = transform.trainLoss != nil ? Float(try transform.parsedOptimizer().learningRate) : 0.01
            let feeds = try CompareFeeds(graph: g, given: given, data: data, steps: steps, learningRate: rate, seed: seed)
            let state = try initialState(g)

            let jitInfo = JITInfo()
            let jit = ComparedBackend(name: "jit") { graph in
                let backend = try JITBackend(graph: graph)
                if jitInfo.first == nil { jitInfo.first = (backend.compiledKernels, backend.sgemmCalls) }
                return backend
            }
            let report = try compare(graph: g, backends: (Self.interpreter(), jit), steps: steps,
                                     tolerance: Tolerance(rtol: rtol, atol: atol), loss: transform.trainLoss ?? transform.gradLoss,
                                     findDivergingNode: nodes, judgeEachStep: !strict, driftRMS: driftRms, seed: seed, state: state,
                                     inputDescription: feeds.description, feeds: feeds.feeds)
            if let (compiled, calls) = jitInfo.first {
                print("jit: \(compiled) compiled kernels, \(calls) sgemm calls per step; \(g.nodes.count) kernels/ops after fusion")
            }
            print(report.text, terminator: "")
            if let json {
                try report.writeJSON(to: json)
                print("report written to \(json)")
            }
            passed = report.passed
        }
        if !passed { throw ExitCode(1) }
    }

    /// Params and state: initialisers (seeded), then --params, then --param.
    private func initialState(_ g: Graph) throws -> [String: Tensor] {
        var state = KilnRuntime.initialState(for: g, seed: seed)
        if let checkpoint {
            for (name, tensor) in try SafetensorsFormat.read(path: checkpoint).tensors {
                guard let declared = g.param(named: name) else { continue }
                guard tensor.type == declared.type else {
                    throw CLIError("--params \(checkpoint): '\(name)' expects \(declared.type), the file holds \(tensor.type)")
                }
                state[name] = tensor
            }
        }
        for (name, path) in try Self.pairs(params, "--param") {
            guard let declared = g.param(named: name) else { throw CLIError("--param \(name): the graph has no param or state '\(name)'") }
            let tensor = try NumPyFormat.read(path: path)
            guard tensor.type == declared.type else { throw CLIError("--param \(name): expects \(declared.type), the file holds \(tensor.type)") }
            state[name] = tensor
        }
        return state
    }

    /// The reference interpreter. `KILN_TEST_BREAK_OP=NAME` (a test switch) adds 1 to the first
    /// element of the value NAME each time the interpreter computes it, so tests can check that
    /// `--nodes` finds a deliberately broken op at the right node and line.
    static func interpreter() -> ComparedBackend {
        guard let broken = ProcessInfo.processInfo.environment["KILN_TEST_BREAK_OP"], !broken.isEmpty else { return .interpreter }
        return ComparedBackend(name: "interpreter") { graph in
            let interpreter = try Interpreter(graph: graph)
            interpreter.resultHook = { node, result in
                guard node.name == broken, result.elementCount > 0 else { return }
                if result.dtype == .f32 { result.floatPointer[0] += 1 } else { result.intPointer[0] &+= 1 }
            }
            return interpreter
        }
    }

    static func pairs(_ items: [String], _ flag: String) throws -> [(String, String)] {
        let pairs = try items.map { item in
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex, item.index(after: eq) != item.endIndex else {
                throw CLIError("\(flag) '\(item)': expected NAME=PATH")
            }
            return (String(item[..<eq]), String(item[item.index(after: eq)...]))
        }
        // A repeated name used to let the last one win without a word.
        var seen: Set<String> = []
        for (name, _) in pairs where !seen.insert(name).inserted { throw CLIError("\(flag) \(name) is given twice") }
        return pairs
    }
}

/// What the first JIT built reported about its code (reference type: set from a factory closure).
private final class JITInfo {
    var first: (Int, Int)?
}
