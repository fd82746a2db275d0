import KilnCodegen
import KilnIR

/// Compiles a planned graph into one LLVM module whose function
/// `void STEP(float** table, i8* ctx, i64 step, i64* status)` runs the schedule in order:
/// every node is lowered to loop kernels (`KilnCodegen.Lowering`) and each kernel rendered
/// (`LoopRenderer`); large kernels are split across cores through `kiln_parallel_for`.
/// Nothing calls back into the interpreter.
struct StepCompiler {
    let graph: Graph
    /// The step function's symbol (unique per module: every module shares one JIT namespace).
    let stepName: String
    /// Kernels doing at least this much work (roughly, scalar operations) run on every core.
    static let parallelThreshold = 1 << 15

    /// Table slot of each value the step reads or writes, then of each scratch buffer.
    private(set) var slots: [String: Int] = [:]
    /// Scratch buffers: slot and element count (4 bytes each), allocated once per backend.
    private(set) var scratch: [(slot: Int, count: Int)] = []
    /// Every failure a kernel can raise: message template and the node's source location.
    private(set) var failures: [(message: String, location: SourceLocation?)] = []
    /// The loop kernels, in order (for `kiln dump --loops` and golden tests).
    private(set) var kernels: [LoopKernel] = []
    private let types: [String: TensorType]

    init(graph: Graph, stepName: String = "kiln_step") {
        self.graph = graph
        self.stepName = stepName
        types = graph.valueTypes
        for name in graph.inputs.map(\.name) + graph.params.map(\.name) { slots[name] = slots.count }
        for node in graph.nodes { for name in node.resultNames { slots[name] = slots.count } }
    }

    /// The module's IR, the number of graph nodes compiled, and the runtime calls left (none).
    mutating func compile() throws -> (ir: String, compiledKernels: Int, runtimeCalls: Int) {
        var metadata = MetadataTable()
        var functions: [String] = []
        var body: [String] = []
        var compiled = 0
        for (index, node) in graph.nodes.enumerated() {
            if isView(node) { compiled += 1; continue }
            let name = "k\(index)_" + kernelName(node)
            for kernel in try Lowering.lower(node, types: types, name: name) {
                let kernelSlots = try kernel.buffers.map { buffer -> Int in
                    if buffer.isScratch {
                        if let slot = slots[buffer.name] { return slot }
                        slots[buffer.name] = slots.count
                        scratch.append((slots.count - 1, buffer.count))
                        return slots.count - 1
                    }
                    guard let slot = slots[buffer.name] else {
                        throw Diagnostic("internal: kernel \(kernel.name) reads '\(buffer.name)', which has no buffer", at: node.location)
                    }
                    return slot
                }
                var renderer = LoopRenderer(kernel: kernel, slots: kernelSlots, failureBase: failures.count)
                functions.append(try renderer.render(&metadata))
                failures += kernel.failures.map { ($0.message, node.location) }
                kernels.append(kernel)
                body.append(call(kernel))
                if !kernel.failures.isEmpty {
                    // Stop at the first kernel that found bad data; later kernels would read garbage.
                    let n = body.count
                    body.append("  %status\(n) = load i64, i64* %status, align 8\n  %failed\(n) = icmp ne i64 %status\(n), 0\n" +
                                "  br i1 %failed\(n), label %done, label %next\(n)\nnext\(n):")
                }
            }
            compiled += 1
        }
        var ir = "; Kiln step function for graph \(graph.name)\n"
        ir += RuntimeSymbols.declarations + MathLibrary.ir + functions.joined(separator: "\n")
        ir += "\ndefine void @\(stepName)(float** %table, i8* %ctx, i64 %step, i64* %status) {\nentry:\n"
        ir += body.joined(separator: "\n") + "\n  br label %done\ndone:\n  ret void\n}\n"
        ir += metadata.lines.joined(separator: "\n") + "\n"
        return (ir, compiled, 0)
    }

    private func call(_ kernel: LoopKernel) -> String {
        let arguments = "float** %table, i8* %ctx, i64 %step"
        let extent = kernel.outerExtent
        if kernel.splitsOuterLoop && extent > 1 && kernel.work >= Self.parallelThreshold {
            return "  call void @kiln_parallel_for(i8* bitcast (void \(functionType)* @\(kernel.name) to i8*), i64 \(extent), \(arguments))"
        }
        return "  call void @\(kernel.name)(i64 0, i64 \(extent), \(arguments))"
    }

    private var functionType: String { "(i64, i64, float**, i8*, i64)" }

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
