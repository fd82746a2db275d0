import KilnCodegen
import KilnIR

/// One call of the step program: a compiled kernel on its buffers.
struct StepCall: Codable {
    /// The kernel's function (several calls may share one).
    var function: String
    /// Table slots of the kernel's buffers, in the kernel's buffer order.
    var slots: [Int]
    /// Elements (4 bytes each) the kernel's pointer to each buffer is advanced by: the constant
    /// part of its indices, moved out of the kernel so calls that differ only there share it
    /// (`BaseOffsets`). Empty: none.
    var offsets: [Int] = []
    /// Iterations of the kernel's outer loop; split across cores when `parallel`.
    var extent: Int
    var parallel: Bool
    /// Global number of the kernel's first failure, if it can fail (the step stops after it).
    var failureBase: Int?
    /// Floating-point operations of a contraction kernel (GEMM, convolution), else 0; bytes of
    /// the graph values it reads and writes (each once: the least traffic it can cause).
    var flops = 0
    var bytes = 0
    /// Computes from params alone into persistent scratch (`InvariantCalls`): may be skipped
    /// while those params are unchanged.
    var invariant = false
    /// Slots the kernel writes before it has read all its operands (`LoopKernel.stagedBuffer`);
    /// nil in records from before it was kept: unknown.
    var stagedSlots: [Int]?

    /// The element offset of the call's `i`-th buffer.
    func offset(_ i: Int) -> Int { offsets.indices.contains(i) ? offsets[i] : 0 }
}

/// Compiles a planned graph into an LLVM module (built through the C API) of loop kernels and a step program — the
/// schedule as a list of kernel calls on table slots, run by `JITBackend` (like XLA's thunk
/// sequence). Every node is lowered to loop kernels (`KilnCodegen.Lowering`), each rendered
/// once (`LoopRenderer`): kernels equal up to names share a function, so an unrolled LSTM's
/// hundreds of identical steps compile once. Nothing calls back into the interpreter.
struct StepCompiler {
    let graph: Graph
    /// Prefix of the module's function names (every module shares one JIT namespace).
    let prefix: String

    /// Table slot of each value the step reads or writes, then of each scratch buffer.
    private(set) var slots: [String: Int] = [:]
    /// Scratch buffers: slot and element count (4 bytes each), allocated once per backend.
    private(set) var scratch: [ScratchBuffer] = []
    /// Every failure a kernel can raise: message template and the node's source location.
    private(set) var failures: [(message: String, location: SourceLocation?)] = []
    /// The scheduled loop kernels, in order (for golden tests).
    private(set) var kernels: [LoopKernel] = []
    private(set) var calls: [StepCall] = []
    /// The distinct functions the module defines.
    private(set) var functions: [String] = []
    private let types: [String: TensorType]

    /// The machine the kernels are generated for.
    let target: CodegenTarget

    /// How each lowered kernel is scheduled.
    let policy: Scheduler.Policy

    init(graph: Graph, prefix: String = "kiln", target: CodegenTarget = .avx2, policy: Scheduler.Policy = .heuristic) {
        self.graph = graph
        self.prefix = prefix
        self.target = target
        self.policy = policy
        types = graph.valueTypes
        for name in graph.inputs.map(\.name) + graph.params.map(\.name) { slots[name] = slots.count }
        for node in graph.nodes { for name in node.resultNames { slots[name] = slots.count } }
    }

    /// The module, the number of graph nodes compiled, and the calls into libraries one
    /// step makes from generated code (`cblas_sgemm` call sites, counted per kernel call; the
    /// thread pool and the failure hook are the runtime's own and not counted).
    mutating func compile() throws -> (module: IRModule, compiledKernels: Int, sgemmCalls: Int) {
        let module = IRModule(name: "kiln_\(graph.name)")
        RuntimeSymbols.declare(in: module)
        var shared: [LoopKernel: String] = [:]
        var compiled = 0
        var libraryCalls = 0
        let constants = Lowering.foldableConstants(graph)
        for (index, node) in graph.nodes.enumerated() {
            compiled += 1
            if isView(node) { continue }
            for lowered in try Lowering.lower(node, types: types, name: "k\(index)_" + kernelName(node), constants: constants, target: target) {
                // Offsets move out before scheduling: the lowered kernel is smaller to walk, and
                // the schedule does not depend on them.
                let (hoisted, offsets) = BaseOffsets.hoisted(lowered)
                let kernel = policy.apply(hoisted, target)
                libraryCalls += Self.gemmCalls(kernel.body)
                let kernelSlots = try kernel.buffers.map { buffer -> Int in
                    if buffer.isScratch {
                        if let slot = slots[buffer.name] { return slot }
                        slots[buffer.name] = slots.count
                        scratch.append(ScratchBuffer(slot: slots.count - 1, count: buffer.count, node: index))
                        return slots.count - 1
                    }
                    guard let slot = slots[buffer.name] else {
                        throw Diagnostic("internal: kernel \(kernel.name) reads '\(buffer.name)', which has no buffer", at: node.location)
                    }
                    return slot
                }
                let key = kernel.anonymous
                let function: String
                if let existing = shared[key] {
                    function = existing
                } else {
                    function = "\(prefix)_\(kernel.name)"
                    var renderer = LoopRenderer(kernel: kernel)
                    try renderer.render(as: function, in: module)
                    shared[key] = function
                    functions.append(function)
                }
                let extent = kernel.outerExtent
                calls.append(StepCall(function: function, slots: kernelSlots, offsets: offsets.contains { $0 != 0 } ? offsets : [], extent: extent,
                                      parallel: kernel.splitsOuterLoop && extent > 1,
                                      failureBase: kernel.failures.isEmpty ? nil : failures.count,
                                      flops: kernel.flops,
                                      bytes: kernel.buffers.filter { !$0.isScratch }.reduce(0) { $0 + 4 * $1.count },
                                      stagedSlots: kernel.stagedBuffer.map { [kernelSlots[$0]] } ?? []))
                failures += kernel.failures.map { ($0.message, node.location) }
                kernels.append(kernel)
            }
        }
        InvariantCalls.mark(&calls, kernels: kernels, scratch: &scratch, params: Set(graph.params.compactMap { slots[$0.name] }))
        return (module, compiled, libraryCalls)
    }

    /// The step program as comments after the module's text (`kiln dump --llvm`): each call is a
    /// kernel on its buffers, in schedule order.
    var stepProgram: String {
        var text = "\n; The step program: each call is a kernel on its buffers, in schedule order.\n"
        var names = [String](repeating: "?", count: slots.count)
        for (name, slot) in slots where slot < names.count { names[slot] = name }
        for call in calls {
            let buffers = call.slots.enumerated().map { i, slot in names[slot] + (call.offset(i) == 0 ? "" : "+\(call.offset(i))") }
            text += "; call \(call.function)(\(buffers.joined(separator: ", "))) extent \(call.extent)"
                + (call.parallel ? " parallel" : "") + (call.failureBase.map { " failures \($0)" } ?? "") + (call.invariant ? " invariant" : "") + "\n"
        }
        return text
    }

    /// `cblas_sgemm` call sites in `body`, each loop multiplying those inside it.
    static func gemmCalls(_ body: [Stmt]) -> Int {
        body.reduce(0) { total, s in
            switch s {
            case .gemm: return total + 1
            case .loop(let l): return total + l.extent * gemmCalls(l.body)
            case .when(_, let then, let otherwise): return total + Swift.max(gemmCalls(then), gemmCalls(otherwise))
            case .bind, .declare, .assign, .store, .fail, .vectorStore, .prefetch: return total
            }
        }
    }

    /// A reshape the memory plan placed on its operand's bytes: nothing to compute.
    private func isView(_ node: Node) -> Bool {
        guard node.op == .reshape, let source = node.operands.first, let plan = graph.memoryPlan,
              let a = plan.allocations[node.name], let b = plan.allocations[source] else { return false }
        return a.offset == b.offset
    }

    /// `matmul`, or a fused kernel's ops joined (`fused_matmul_add_relu`), as an LLVM identifier.
    private func kernelName(_ node: Node) -> String {
        guard let region = node.region else { return node.op.name }
        var ops: [String] = []
        for inner in region where ops.last != inner.op.name { ops.append(inner.op.name) }
        return "fused_" + ops.prefix(4).joined(separator: "_")
    }
}
