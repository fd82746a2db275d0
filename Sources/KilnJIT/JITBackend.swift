import Foundation
import KilnCodegen
import KilnIR
import KilnPasses
import KilnRuntime
import KilnSupport

/// Runs a graph as a sequence of JIT-compiled kernels over the memory plan's arena.
/// Compiled modules are cached by the optimised graph's printed text, so a training loop (or
/// a second trainer on the same graph) compiles once per process.
public final class JITBackend: ExecutionBackend {
    public let graph: Graph
    /// LLVM IR as generated (the module printed, the step program as comments), and after
    /// optimisation (for `kiln dump --llvm`).
    public var ir: String {
        if let irText { return irText }
        // Taken from a step record: the module is rebuilt (the same deterministic text) only
        // when someone asks for it, so records need not carry it.
        var compiler = StepCompiler(graph: graph, prefix: irRecipe.prefix, target: irRecipe.target, policy: irRecipe.policy)
        do {
            let module = try compiler.compile().module
            irText = module.text + compiler.stepProgram
        } catch {
            irText = "; the module could not be rebuilt: \(error)\n"
        }
        return irText ?? ""
    }
    private var irText: String?
    private let irRecipe: (prefix: String, target: CodegenTarget, policy: Scheduler.Policy)
    public private(set) var optimizedIR: String
    public let compileSeconds: Double
    /// Where this backend's step came from (what `compileSeconds` paid for).
    public let compileSource: CompileSource
    /// Graph nodes compiled to machine code (every one: nothing is left to the interpreter).
    public let compiledKernels: Int
    /// `cblas_sgemm` calls one step makes (products and convolution gradients the generated
    /// GEMM does not yet serve); measured from the scheduled kernels, not assumed.
    public let sgemmCalls: Int
    /// Record the time of every kernel call (`kernelProfile`), for `kiln bench --profile`.
    public var profiling = false
    /// Per step, the floating-point operations and the bytes of graph values of each kernel
    /// function's calls, by function name (for a roofline beside `MachinePeaks`).
    public var kernelCosts: [String: (flops: Int, bytes: Int)] {
        var costs: [String: (flops: Int, bytes: Int)] = [:]
        for (_, call, _) in program {
            let c = costs[call.function] ?? (0, 0)
            costs[call.function] = (c.flops + call.flops, c.bytes + call.bytes)
        }
        return costs
    }

    /// Per step, how many times each kernel function is called (several layers of one shape
    /// share a function: `BaseOffsets`), by function name.
    public var kernelCalls: [String: Int] {
        var calls: [String: Int] = [:]
        for (_, call, _) in program { calls[call.function, default: 0] += 1 }
        return calls
    }

    /// The compiler's session (its target, cache, and what `MachinePeaks` compiles in).
    public static func sharedSession() throws -> JITSession { try session.get() }

    /// Skip the calls that compute from params alone (`InvariantCalls`: Winograd weight
    /// transforms) while every param they read is the same storage as when they last ran, as
    /// onnxruntime pre-packs initialisers. Set it only where params are never written in place
    /// between steps — a changed param must come as a new tensor — as `kiln bench` does; off by
    /// default. (The params checked are every param of a node with an invariant call: a
    /// superset of those the calls read.)
    public var reusesParamTransforms = false
    /// Write the updates that qualify (`InPlaceUpdates`) into their params' storage, so a param
    /// and its optimiser moments take one buffer each instead of two — for models whose state
    /// does not fit twice. Off by default: on AVX2 Zen 3 the update kernels ran 2–25% slower in
    /// place (MLP Adam b32; cause not found). `KILN_INPLACE=on` turns it on in the CLI.
    public var updatesInPlace = InPlaceUpdates.requested
    /// Param names the invariant calls read, and the storages they last ran on.
    private let invariantParams: [String]
    /// Update value → the param whose storage it is written into (`InPlaceUpdates`): planned
    /// on the first step that asks for it, not at start-up.
    private(set) lazy var inPlaceUpdates: [String: String] = InPlaceUpdates.plan(graph, calls: program.map(\.call), slots: slots)
    private var invariantStorages: [TensorStorage] = []
    /// Invariant calls skipped over this backend's life (for tests).
    public private(set) var skippedInvariantCalls = 0

    /// Seconds spent in each kernel function over the profiled runs, by function name.
    public private(set) var kernelProfile: [String: Double] = [:]

    /// The step program: kernels with their argument arrays (filled from the table each run).
    private let program: [(function: KernelFunction, call: StepCall, arguments: Int)]
    /// Whether a step splits any kernel across threads (then its caller is pinned while it runs).
    private let hasParallelKernels: Bool
    /// Every call's buffer pointers, back to back.
    private let arguments: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// Each kernel argument's table slot, and the bytes its pointer is advanced by (`StepCall.offsets`).
    private let argumentSlots: [(slot: Int, bytes: Int)]
    private let context: JITRuntimeContext
    private let slots: [String: Int]
    private let arena: TensorStorage
    /// Kernels' private buffers (phase planes, packed panels, transforms): one region, allocated once.
    private let scratch: ScratchRegion
    private let failures: [(message: String, location: SourceLocation?)]
    private var table: [UnsafeMutableRawPointer?]
    /// Buffers of earlier outputs and replaced state, reused once nobody else holds them: a
    /// training loop then writes each step's new params into the last step's old ones instead
    /// of faulting in fresh pages (every kernel overwrites its whole output).
    private var pool: [TensorStorage] = []

    private static let session: Result<JITSession, Error> = Result { try JITSession() }
    private struct Module {
        var compiled: JITSession.Compiled
        /// Nil when taken from a step record.
        var ir: String?
        var slots: [String: Int]
        var scratch: [ScratchBuffer]
        var failures: [(message: String, location: SourceLocation?)]
        var counts: (Int, Int)
        var calls: [StepCall]

        var prefix: String

        init(compiled: JITSession.Compiled, ir: String?, prefix: String, slots: [String: Int], scratch: [ScratchBuffer],
             failures: [(message: String, location: SourceLocation?)], counts: (Int, Int), calls: [StepCall]) {
            (self.compiled, self.ir, self.prefix, self.slots, self.scratch, self.failures, self.counts, self.calls) = (compiled, ir, prefix, slots, scratch, failures, counts, calls)
        }

        init(record: StepRecord, prefix: String, symbols: [String: UInt64]) {
            self.init(compiled: JITSession.Compiled(symbols: symbols, moduleText: "", optimizedIR: "", seconds: 0, fromCache: true, objectKeys: record.objectKeys),
                      ir: nil, prefix: prefix, slots: record.slots, scratch: record.scratch.compactMap { $0.count == 4 ? ScratchBuffer(slot: $0[0], count: $0[1], node: $0[2], persistent: $0[3] == 1) : nil },
                      failures: record.failureList, counts: (record.compiledKernels, record.sgemmCalls), calls: record.calls)
        }
    }
    private static var cache: [String: Module] = [:]

    /// Where a backend's compiled step came from.
    public enum CompileSource: String, Sendable {
        /// Lowered, scheduled, optimised and emitted in this process.
        case compiled
        /// Lowered and scheduled here; the machine code came from the on-disk cache.
        case objectCache = "object cache"
        /// Everything came from the on-disk cache (the step record and its objects).
        case stepRecord = "step record"
        /// An earlier backend in this process compiled the same graph.
        case process = "this process"
    }
    private static let lock = NSLock()
    private static var moduleCounter = 0

    /// `graph` must be typed; it is planned (plan-memory) here if it has no plan yet. Kernels are
    /// generated for `target` (default: this CPU) and scheduled by `policy` (default: the
    /// heuristic; tests draw random schedules).
    public init(graph input: Graph, keepOptimizedIR: Bool = false, target: CodegenTarget? = nil,
                policy: Scheduler.Policy = .heuristic) throws {
        _ = BLAS.warmUp
        var g = input.nodes.contains { $0.type == nil } ? try inferTypes(input) : input
        try Verifier().verify(g)
        if g.memoryPlan == nil { g = try MemoryPlanner().run(g) }
        graph = g
        let session = try Self.session.get()
        let codegenTarget = target ?? session.codegenTarget
        // The printed graph leaves out source locations, but the module's run-time failures
        // (a label out of range) name them: graphs that differ only there get their own entry
        // (the on-disk object cache still shares the machine code).
        let locations = g.nodes.map { $0.location?.description ?? "" }.joined(separator: ";")
        let key = g.text + "\n# \(codegenTarget) \(policy.name) \(locations)"
        Self.lock.lock()
        defer { Self.lock.unlock() }
        let entry: Module
        if let cached = Self.cache[key], !keepOptimizedIR || !cached.compiled.optimizedIR.isEmpty {
            entry = cached
            compileSeconds = 0
            compileSource = .process
        } else {
            let start = monotonicSeconds()
            Self.moduleCounter += 1
            var prefix = "kiln\(Self.moduleCounter)"
            let recordKey = keepOptimizedIR ? nil : StepRecord.key(step: key, prefix: prefix, machine: session.machineTarget)
            var touchedJIT = false
            if let recordKey, let (record, symbols) = session.loadStep(recordKey, touchedJIT: &touchedJIT) {
                entry = Module(record: record, prefix: prefix, symbols: symbols)
                compileSource = .stepRecord
            } else {
                if touchedJIT {
                    // The record's objects were added before it failed: their names are taken.
                    Self.moduleCounter += 1
                    prefix = "kiln\(Self.moduleCounter)"
                }
                var compiler = StepCompiler(graph: g, prefix: prefix, target: codegenTarget, policy: policy)
                let (module, compiled, calls) = try compiler.compile()
                let result = try session.compile(module, symbols: compiler.functions, keepOptimizedIR: keepOptimizedIR)
                entry = Module(compiled: result, ir: result.moduleText + compiler.stepProgram, prefix: prefix, slots: compiler.slots, scratch: compiler.scratch, failures: compiler.failures,
                               counts: (compiled, calls), calls: compiler.calls)
                if let recordKey, !touchedJIT, !result.objectKeys.isEmpty {
                    session.storeStep(recordKey, StepRecord(
                        slots: compiler.slots, scratch: compiler.scratch.map { [$0.slot, $0.count, $0.node, $0.persistent ? 1 : 0] }, failures: StepRecord.failures(compiler.failures),
                        compiledKernels: compiled, sgemmCalls: calls, calls: compiler.calls, functions: compiler.functions,
                        objectKeys: result.objectKeys))
                }
                compileSource = result.fromCache ? .objectCache : .compiled
            }
            Self.cache[key] = entry
            compileSeconds = monotonicSeconds() - start
        }
        irText = entry.ir
        irRecipe = (entry.prefix, codegenTarget, policy)
        optimizedIR = entry.compiled.optimizedIR
        (compiledKernels, sgemmCalls) = entry.counts
        slots = entry.slots
        context = JITRuntimeContext()
        failures = entry.failures
        var program: [(function: KernelFunction, call: StepCall, arguments: Int)] = []
        var argumentSlots: [(slot: Int, bytes: Int)] = []
        for call in entry.calls {
            guard let address = entry.compiled.symbols[call.function], address != 0,
                  let pointer = UnsafeRawPointer(bitPattern: UInt(address)) else {
                throw Diagnostic("JIT: \(call.function) was not found after compilation")
            }
            program.append((unsafeBitCast(pointer, to: KernelFunction.self), call, argumentSlots.count))
            argumentSlots += call.slots.enumerated().map { ($1, 4 * call.offset($0)) }
        }
        self.program = program
        let invariantSlots = Set(entry.calls.filter(\.invariant).flatMap(\.slots))
        invariantParams = g.params.map(\.name).filter { entry.slots[$0].map(invariantSlots.contains) ?? false }
        hasParallelKernels = program.contains { $0.call.parallel }
        self.argumentSlots = argumentSlots
        arguments = .allocate(capacity: Swift.max(argumentSlots.count, 1))
        arguments.initialize(repeating: nil, count: Swift.max(argumentSlots.count, 1))
        arena = TensorStorage(byteCount: g.memoryPlan?.arenaSize ?? 0)
        table = [UnsafeMutableRawPointer?](repeating: nil, count: entry.slots.count)
        for (name, allocation) in g.memoryPlan?.allocations ?? [:] {
            if let slot = entry.slots[name] { table[slot] = arena.pointer + allocation.offset }
        }
        scratch = try ScratchRegion(entry.scratch)
        for (buffer, offset) in zip(entry.scratch, scratch.offsets) { table[buffer.slot] = scratch.storage.pointer + offset }
    }

    /// Sends the JIT's idle kernel workers to sleep now rather than after their short spin (and
    /// gives the calling thread its CPU mask back), before timing other work on these cores.
    public static func restWorkers() { KernelPool.shared.rest() }

    /// Wakes the JIT's kernel workers, so the next step finds them spinning as a loop of steps does.
    public static func wakeWorkers() { KernelPool.shared.wake() }

    public func run(inputs: [String: Tensor], state: inout [String: Tensor], step number: Int) throws -> [String: Tensor] {
        var keep: [Tensor] = []
        for input in graph.inputs {
            guard let t = inputs[input.name] else { throw Diagnostic("missing input '\(input.name)' (expects \(input.type))") }
            guard t.type == input.type else { throw Diagnostic("input '\(input.name)' expects \(input.type), got \(t.type)") }
            table[slots[input.name] ?? 0] = t.storage.pointer
            keep.append(t)
        }
        // Updates written into their param's storage (`InPlaceUpdates`) where the state alone
        // holds it: a caller keeping the tensor keeps its values.
        var inPlace: [String: TensorStorage] = [:]
        for (value, target) in updatesInPlace ? inPlaceUpdates : [:]
        where !(reusesParamTransforms && invariantParams.contains(target)) && state[target]?.hasUniqueStorage() == true {
            inPlace[value] = state[target]?.storage
        }
        for param in graph.params {
            guard let t = state[param.name] else { throw Diagnostic("missing \(param.role.rawValue) '\(param.name)' (expects \(param.type))") }
            guard t.type == param.type else { throw Diagnostic("\(param.role.rawValue) '\(param.name)' expects \(param.type), got \(t.type)") }
            table[slots[param.name] ?? 0] = t.storage.pointer
            keep.append(t)
        }
        // Values that outlive the step (outputs, updates) get fresh buffers; the rest live in the arena.
        var escaping: [String: Tensor] = [:]
        for node in graph.nodes {
            for (name, type) in node.resultTypes where graph.memoryPlan?.allocations[name] == nil {
                if let storage = inPlace[name] {
                    table[slots[name] ?? 0] = storage.pointer
                    continue
                }
                let t = Tensor(type: type ?? TensorType(.f32, .scalar), storage: recycledStorage(byteCount: type?.byteCount ?? 4))
                escaping[name] = t
                table[slots[name] ?? 0] = t.storage.pointer
            }
        }
        // The invariant calls' scratch still holds their results for these param storages.
        let current = invariantParams.compactMap { state[$0]?.storage }
        let skipInvariant = reusesParamTransforms && current.count == invariantStorages.count
            && zip(current, invariantStorages).allSatisfy { $0 === $1 }
        invariantStorages = []
        context.failure = nil
        context.status.pointee = 0
        for (i, argument) in argumentSlots.enumerated() { arguments[i] = table[argument.slot].map { $0 + argument.bytes } }
        let ctx = Unmanaged.passUnretained(context).toOpaque()
        let stepNumber = Int64(truncatingIfNeeded: number)
        KernelPool.shared.beginStep(contended: sgemmCalls > 0, pin: hasParallelKernels)
        defer { KernelPool.shared.endStep() }
        // Generated kernels call cblas_sgemm directly: the step holds OpenBLAS's fork guard.
        if sgemmCalls > 0 { ForkGuard.openBLAS.lockShared() }
        defer { if sgemmCalls > 0 { ForkGuard.openBLAS.unlockShared() } }
        for (function, call, offset) in program {
            if call.invariant && skipInvariant {
                skippedInvariantCalls += 1
                continue
            }
            let args = UnsafeMutableRawPointer(arguments + offset)
            let failureBase = Int64(call.failureBase ?? 0)
            let start = profiling ? monotonicSeconds() : 0
            defer { if profiling { kernelProfile[call.function, default: 0] += monotonicSeconds() - start } }
            if call.parallel {
                parallelForEntry(unsafeBitCast(function, to: UnsafeMutableRawPointer.self), Int64(call.extent), args, ctx, stepNumber, failureBase)
            } else {
                function(0, Int64(call.extent), args, ctx, stepNumber, failureBase)
            }
            // A kernel that found bad data stops the step: later kernels would read garbage.
            if call.failureBase != nil && context.status.pointee != 0 { break }
        }
        withExtendedLifetime(keep) {}
        // Held until the next step, so the storages cannot be freed and their memory handed out again.
        // (Only when skipping is on: held, a param could never be updated in place.)
        if reusesParamTransforms && context.failure == nil && context.status.pointee == 0 { invariantStorages = current }
        if let failure = context.failure {
            let (template, location) = failure.id < failures.count ? failures[failure.id] : ("kernel failure \(failure.id)", nil)
            let message = template.replacingOccurrences(of: "{0}", with: "\(failure.a)").replacingOccurrences(of: "{1}", with: "\(failure.b)")
            throw Diagnostic(message, at: location)
        }
        var outputs: [String: Tensor] = [:]
        for name in graph.outputs { outputs[name] = escaping[name] ?? inputs[name] ?? state[name] }
        for update in graph.updates {
            if let t = escaping[update.value] {
                if let old = state[update.target] { pool.append(old.storage) }
                state[update.target] = t
            }
        }
        for name in graph.outputs { if let t = escaping[name] { pool.append(t.storage) } }
        if pool.count > 4 * (graph.updates.count + graph.outputs.count) + 8 { pool.removeFirst(pool.count / 2) }
        return outputs
    }

    deinit { arguments.deallocate() }

    /// A pooled buffer of exactly `byteCount` bytes that only the pool still references, or a new one.
    private func recycledStorage(byteCount: Int) -> TensorStorage {
        for i in pool.indices where pool[i].byteCount == byteCount && isKnownUniquelyReferenced(&pool[i]) {
            return pool.remove(at: i)
        }
        return TensorStorage(uninitializedByteCount: byteCount)
    }
}
