import KilnIR
import KilnSupport

/// Memory and time of the last run.
public struct ExecutionStats: Sendable {
    /// Peak bytes of intermediates alive at once (the arena size when running a memory plan).
    public var peakBytes = 0
    /// Bytes all intermediates would take if none were ever freed.
    public var totalIntermediateBytes = 0
    public var seconds = 0.0
    public init(peakBytes: Int = 0, totalIntermediateBytes: Int = 0, seconds: Double = 0) {
        self.peakBytes = peakBytes
        self.totalIntermediateBytes = totalIntermediateBytes
        self.seconds = seconds
    }
}

/// Runs a typed graph op by op: GEMMs and convolutions through OpenBLAS, everything else in
/// Swift loops. The reference every other backend is checked against.
public final class Interpreter: ExecutionBackend {
    public let graph: Graph
    public private(set) var lastStats = ExecutionStats()
    private let program: Program
    private var arenaStorage: TensorStorage?
    /// Run in the graph's memory plan (one arena) instead of a buffer per value.
    public let usesPlan: Bool
    /// Test hook, nil in normal use: called with each op's result (ops inside fused kernels
    /// too) right after it is computed, before anything reads it. Tests set it to corrupt one
    /// op on purpose and check that `compare(graph:backends:…)` finds that op.
    public var resultHook: ((Node, Tensor) -> Void)?

    /// `graph` must be verified and typed; with `usePlan`, its `memoryPlan` places intermediates.
    public init(graph: Graph, usePlan: Bool = false) throws {
        try Verifier().verify(graph)
        if let untyped = graph.nodes.first(where: { $0.type == nil }) {
            throw Diagnostic("'\(untyped.name)' has no type: run shape inference first", at: untyped.location)
        }
        if usePlan && graph.memoryPlan == nil {
            throw Diagnostic("graph '\(graph.name)' has no memory plan: run the plan-memory pass first")
        }
        self.graph = graph
        self.usesPlan = usePlan
        program = Program(graph)
    }

    public func run(inputs: [String: Tensor], state: inout [String: Tensor], step: Int) throws -> [String: Tensor] {
        try run(inputs: inputs, state: &state, step: step, keepAll: false)
    }

    /// Runs once. Every input must be given with its exact type; `state` must hold every
    /// param and state tensor; afterwards each `update` is written into `state` (all updates
    /// read pre-run values). `keepAll` also returns every node's value, for debugging.
    public func run(inputs: [String: Tensor], state: inout [String: Tensor], step: Int = 0,
                    keepAll: Bool = false) throws -> [String: Tensor] {
        let start = monotonicSeconds()
        var values = [Tensor?](repeating: nil, count: program.slotCount)
        for input in graph.inputs {
            values[program.slot[input.name] ?? 0] = try checked(inputs[input.name], input.name, input.type, what: "input")
        }
        for param in graph.params {
            values[program.slot[param.name] ?? 0] = try checked(state[param.name], param.name, param.type, what: param.role.rawValue)
        }
        // One arena for the life of the interpreter: no per-run allocation or page faults.
        if usesPlan && arenaStorage == nil { arenaStorage = TensorStorage(byteCount: graph.memoryPlan?.arenaSize ?? 0) }
        let arena = arenaStorage
        var live = 0, peak = 0, total = 0
        var kept: [String: Tensor] = [:]

        for instruction in program.instructions {
            let operands = instruction.operands.map { values[$0] }
            guard let ready = operands as? [Tensor] else {
                throw Diagnostic("internal: '\(instruction.node.name)' ran before its operands", at: instruction.node.location)
            }
            var results: [Tensor] = []
            for (name, type) in instruction.results {
                if let arena, let allocation = graph.memoryPlan?.allocations[name] {
                    results.append(Tensor(type: type, storage: TensorStorage(
                        viewing: arena.pointer + allocation.offset, byteCount: type.byteCount, owner: arena)))
                } else {
                    results.append(Tensor(uninitialized: type))
                    if !instruction.escaping.contains(name) { live += type.byteCount }
                }
                if !instruction.escaping.contains(name) { total += type.byteCount }
            }
            do {
                if let body = instruction.body {
                    try body.run(ready, into: results, step: step, hook: resultHook)
                } else {
                    try Kernels.execute(instruction.node, ready, into: results[0], step: step, elementwise: instruction.elementwise)
                    resultHook?(instruction.node, results[0])
                }
            } catch let d as Diagnostic where d.location == nil {
                throw Diagnostic(d.message, at: instruction.node.location)
            }
            peak = Swift.max(peak, live)
            for (slot, result) in zip(instruction.resultSlots, results) { values[slot] = result }
            if keepAll {
                // Arena slots are reused later in the run and by the next run: keep copies.
                for ((name, _), result) in zip(instruction.results, results) { kept[name] = arena == nil ? result : result.copy() }
            }
            for slot in instruction.frees {
                if let t = values[slot], arena == nil { live -= t.type.byteCount }
                values[slot] = nil
            }
        }

        var outputs = kept
        for name in graph.outputs { if let slot = program.slot[name], let value = values[slot] { outputs[name] = value } }
        for update in graph.updates {
            if let slot = program.slot[update.value], let value = values[slot] { state[update.target] = value }
        }
        lastStats = ExecutionStats(peakBytes: arena == nil ? peak : (graph.memoryPlan?.arenaSize ?? 0),
                                   totalIntermediateBytes: total, seconds: monotonicSeconds() - start)
        return outputs
    }

    private func checked(_ tensor: Tensor?, _ name: String, _ type: TensorType, what: String) throws -> Tensor {
        guard let tensor else { throw Diagnostic("missing \(what) '\(name)' (expects \(type))") }
        guard tensor.type == type else { throw Diagnostic("\(what) '\(name)' expects \(type), got \(tensor.type)") }
        return tensor
    }
}

extension Interpreter {
    /// Convenience for tests and tools: runs with fresh initial state and returns the outputs.
    public func run(inputs: [String: Tensor], seed: UInt64 = 0) throws -> [String: Tensor] {
        var state = initialState(for: graph, seed: seed)
        return try run(inputs: inputs, state: &state, step: 0)
    }
}

/// A single op or a whole fused kernel, prepared once and run on raw buffers: the shared
/// kernels the JIT's generated code calls for ops it does not compile itself.
public final class PreparedKernel {
    private let node: Node
    private let body: KernelBody?
    private let operandTypes: [TensorType]
    private let resultTypes: [TensorType]
    private let elementwise: ElementwiseProgram?

    public init(_ node: Node, operandTypes: [TensorType]) {
        self.node = node
        body = node.region.map { KernelBody(kernel: node, body: $0, operandTypes: operandTypes) }
        self.operandTypes = operandTypes
        resultTypes = node.resultTypes.map { $0.1 ?? TensorType(.f32, .scalar) }
        elementwise = ElementwiseProgram(node, operandTypes: operandTypes.map(\.dtype))
    }

    /// A kernel for the first op of a fused kernel's body (a GEMM epilogue's convolution).
    public init(bodyNode: Node, operandTypes: [TensorType]) {
        node = bodyNode
        body = nil
        self.operandTypes = operandTypes
        resultTypes = [bodyNode.type ?? TensorType(.f32, .scalar)]
        elementwise = ElementwiseProgram(bodyNode, operandTypes: operandTypes.map(\.dtype))
    }

    /// Runs on `pointers`: the operands' buffers, then the results'.
    public func run(_ pointers: UnsafePointer<UnsafeMutableRawPointer?>, step: Int) throws {
        let owner = TensorStorage(byteCount: 0)
        func view(_ i: Int, _ type: TensorType) -> Tensor {
            Tensor(type: type, storage: TensorStorage(viewing: pointers[i] ?? owner.pointer, byteCount: type.byteCount, owner: owner))
        }
        let operands = operandTypes.enumerated().map { view($0.offset, $0.element) }
        let results = resultTypes.enumerated().map { view(operandTypes.count + $0.offset, $0.element) }
        if let body {
            try body.run(operands, into: results, step: step)
        } else {
            try Kernels.execute(node, operands, into: results[0], step: step, elementwise: elementwise)
        }
    }
}

extension Interpreter {
    /// One node's result on `operands`, computed by the interpreter's kernel alone (no plan, no
    /// `resultHook`): the reference a checking tool holds a single node of another backend to.
    public static func evaluate(_ node: Node, operands: [Tensor], step: Int) throws -> Tensor {
        guard let type = node.type else { throw Diagnostic("'\(node.name)' has no type", at: node.location) }
        let out = Tensor(uninitialized: type)
        try Kernels.execute(node, operands, into: out, step: step)
        return out
    }
}
