import KilnIR
import KilnRuntime

/// Compiles a planned graph into one LLVM function `void kiln_step(float** table, i8* ctx)`:
/// the schedule in order, with no per-op dispatch loop. Elementwise nodes and fused
/// elementwise kernels become generated loops (inlined math, vectorised, split across cores
/// above `parallelThreshold` elements); matmul calls `cblas_sgemm` directly with the transpose
/// flags; a fused GEMM epilogue is the GEMM into the result buffer followed by a generated loop
/// over it; every other op calls its shared runtime kernel through one C entry point.
struct StepCompiler {
    let graph: Graph
    /// The step function's symbol (unique per module: every module shares one JIT namespace).
    let stepName: String
    /// Elementwise kernels with at least this many elements run on every core.
    static let parallelThreshold = 1 << 16

    /// Table index of each value the step reads or writes.
    private(set) var slots: [String: Int] = [:]
    private(set) var sites: [PreparedKernel] = []
    private var kernels: [String] = []
    private var body = IRText()
    private var allocas: [String] = []
    private var metadata = 10
    private let types: [String: TensorType]

    init(graph: Graph, stepName: String = "kiln_step") {
        self.graph = graph
        self.stepName = stepName
        types = graph.valueTypes
        for name in graph.inputs.map(\.name) + graph.params.map(\.name) { slots[name] = slots.count }
        for node in graph.nodes { for name in node.resultNames { slots[name] = slots.count } }
    }

    /// The module's IR and statistics of what was compiled versus called.
    mutating func compile() -> (ir: String, compiledKernels: Int, runtimeCalls: Int) {
        var compiled = 0, calls = 0
        for node in graph.nodes {
            if let region = node.region {
                if emitFused(node, region) { compiled += 1 } else { call(node); calls += 1 }
            } else if node.op == .matmul {
                emitGemm(node, a: node.operands[0], b: node.operands[1], out: pointer(node.name))
                compiled += 1
            } else if JITSupport.isCompiledElementwise(node, types: types) {
                emitElementwise(body: [node], operands: unique(node.operands), results: [node.name], resultPointers: [node.name])
                compiled += 1
            } else {
                call(node)
                calls += 1
            }
        }
        var ir = "; Kiln step function for graph \(graph.name)\n"
        ir += "declare void @cblas_sgemm(i32, i32, i32, i32, i32, i32, float, float*, i32, float*, i32, float, float*, i32)\n\n"
        ir += MathLibrary.ir + kernels.joined(separator: "\n")
        ir += "\ndefine void @\(stepName)(float** %table, i8* %ctx) {\nentry:\n"
        ir += allocas.map { "  \($0)\n" }.joined() + body.text + "  ret void\n}\n"
        return (ir, compiled, calls)
    }

    private func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    /// Loads a value's buffer pointer from the table.
    private mutating func pointer(_ name: String) -> String {
        let slot = body.value("getelementptr inbounds float*, float** %table, i64 \(slots[name] ?? 0)")
        return body.value("load float*, float** \(slot), align 8")
    }

    /// An array of buffer pointers (`float**`) for a call.
    private mutating func pointerArray(_ pointers: [String]) -> String {
        let array = "%arr\(allocas.count)"
        allocas.append("\(array) = alloca [\(Swift.max(pointers.count, 1)) x float*], align 8")
        for (i, p) in pointers.enumerated() {
            let element = body.value("getelementptr inbounds [\(Swift.max(pointers.count, 1)) x float*], [\(Swift.max(pointers.count, 1)) x float*]* \(array), i64 0, i64 \(i)")
            body.line("  store float* \(p), float** \(element), align 8")
        }
        return body.value("getelementptr inbounds [\(Swift.max(pointers.count, 1)) x float*], [\(Swift.max(pointers.count, 1)) x float*]* \(array), i64 0, i64 0")
    }

    /// Calls the shared runtime kernel of `node` (a plain op or a whole fused kernel).
    private mutating func call(_ node: Node) {
        let site = sites.count
        sites.append(PreparedKernel(node, operandTypes: node.operands.map { types[$0] ?? TensorType(.f32, .scalar) }))
        callSite(site, pointers: node.operands.map { pointer($0) } + node.resultNames.map { pointer($0) })
    }

    private mutating func callSite(_ site: Int, pointers: [String]) {
        let array = pointerArray(pointers)
        let entry = "inttoptr (i64 \(EntryAddresses.runSite) to void (i8*, i64, float**)*)"
        body.line("  call void \(entry)(i8* %ctx, i64 \(site), float** \(array))")
    }

    /// `out = op(a)·op(b)` through cblas_sgemm, batch by batch.
    private mutating func emitGemm(_ node: Node, a: String, b: String, out: String) {
        let pa = pointer(a), pb = pointer(b)
        let sa = types[a]?.shape.dims ?? [], sb = types[b]?.shape.dims ?? []
        let ta = node.attributes.bool("transpose_a"), tb = node.attributes.bool("transpose_b")
        let (ar, ac) = (sa[sa.count - 2], sa[sa.count - 1]), (br, bc) = (sb[sb.count - 2], sb[sb.count - 1])
        let m = ta ? ac : ar, k = ta ? ar : ac, n = tb ? br : bc
        let batch = (node.type?.rank ?? 2) == 3 ? (node.type?.shape[0] ?? 1) : 1
        for i in 0..<batch {
            let a0 = body.value("getelementptr inbounds float, float* \(pa), i64 \(sa.count == 3 ? i * ar * ac : 0)")
            let b0 = body.value("getelementptr inbounds float, float* \(pb), i64 \(sb.count == 3 ? i * br * bc : 0)")
            let c0 = body.value("getelementptr inbounds float, float* \(out), i64 \(i * m * n)")
            body.line("  call void @cblas_sgemm(i32 101, i32 \(ta ? 112 : 111), i32 \(tb ? 112 : 111), i32 \(m), i32 \(n), i32 \(k), float 1.0, float* \(a0), i32 \(ac), float* \(b0), i32 \(bc), float 0.0, float* \(c0), i32 \(n))")
        }
    }

    /// A fused kernel: compiled when its body is elementwise, or a contraction followed by an
    /// elementwise epilogue; false when it must run through the runtime.
    private mutating func emitFused(_ node: Node, _ region: [Node]) -> Bool {
        var local = types
        for inner in region { if let t = inner.type { local[inner.name] = t } }
        let first = region[0]
        let contraction = first.op == .matmul || first.op == .conv2d
        let epilogue = contraction ? Array(region.dropFirst()) : region
        guard epilogue.allSatisfy({ JITSupport.isCompiledElementwise($0, types: local) }), first.type?.dtype == .f32 else { return false }
        let results = node.resultNames
        if contraction {
            // The contraction writes straight into a result buffer; the epilogue reads it there.
            let target = results.contains(first.name) ? first.name : results[0]
            let out = pointer(target)
            if first.op == .matmul {
                emitGemm(first, a: first.operands[0], b: first.operands[1], out: out)
            } else {
                let site = sites.count
                sites.append(PreparedKernel(bodyNode: first, operandTypes: first.operands.map { local[$0] ?? TensorType(.f32, .scalar) }))
                callSite(site, pointers: first.operands.map { pointer($0) } + [out])
            }
            if epilogue.isEmpty { return true }
            let defined = Set(epilogue.map(\.name))
            let operands = unique(epilogue.flatMap(\.operands).filter { !defined.contains($0) })
            let operandPointers = operands.map { $0 == first.name ? target : $0 }
            emitElementwise(body: epilogue, operands: operands, results: results.filter { $0 != first.name },
                            resultPointers: results.filter { $0 != first.name }, operandPointerNames: operandPointers, local: local)
            return true
        }
        let defined = Set(region.map(\.name))
        emitElementwise(body: region, operands: unique(region.flatMap(\.operands).filter { !defined.contains($0) }),
                        results: results, resultPointers: results, local: local)
        return true
    }

    /// Emits an elementwise kernel function and its call from the step.
    private mutating func emitElementwise(body nodes: [Node], operands: [String], results: [String], resultPointers: [String],
                                          operandPointerNames: [String]? = nil, local: [String: TensorType]? = nil) {
        guard !results.isEmpty else { return }
        let t = local ?? types
        let shape = t[results[0]]?.shape ?? .scalar
        let name = "kiln_kernel_\(kernels.count)"
        let emitter = ElementwiseEmitter(name: name, body: nodes, operands: operands,
                                         operandShapes: operands.map { t[$0]?.shape ?? .scalar }, results: results,
                                         shape: shape, metadata: metadata)
        metadata += ElementwiseEmitter.metadataPerKernel
        kernels.append(emitter.emit())
        let pointers = (operandPointerNames ?? operands).map { pointer($0) } + resultPointers.map { pointer($0) }
        let array = pointerArray(pointers)
        let rows = emitter.rowCount
        if shape.elementCount >= Self.parallelThreshold && rows > 1 {
            let entry = "inttoptr (i64 \(EntryAddresses.parallelFor) to void (i8*, i64, float**)*)"
            let fn = body.value("bitcast void (i64, i64, float**)* @\(name) to i8*")
            body.line("  call void \(entry)(i8* \(fn), i64 \(rows), float** \(array))")
        } else {
            body.line("  call void @\(name)(i64 0, i64 \(rows), float** \(array))")
        }
    }
}
