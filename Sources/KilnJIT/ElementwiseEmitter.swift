import KilnIR

/// Which elementwise ops the JIT compiles to inline IR (the rest run through runtime kernels).
enum JITSupport {
    static func isCompiledElementwise(_ node: Node, types: [String: TensorType]) -> Bool {
        guard node.type?.dtype == .f32, node.operands.allSatisfy({ types[$0]?.dtype == .f32 }) else { return false }
        switch node.op {
        case .add, .sub, .mul, .div, .max, .min, .pow, .equal, .not_equal, .less, .less_equal, .greater, .greater_equal,
             .select, .neg, .exp, .log, .sqrt, .rsqrt, .square, .abs, .sign, .tanh, .sigmoid, .relu, .leaky_relu, .elu, .broadcast_to:
            return true
        default:
            return false
        }
    }
}

/// Emits one elementwise kernel as an LLVM function
/// `void NAME(i64 firstRow, i64 endRow, float** pointers)` over rows of the (coalesced)
/// iteration space: `pointers` holds the kernel's operands then its results. Broadcasting is
/// resolved at compile time (static shapes): each operand gets per-axis strides, row offsets are
/// computed once per row, and the innermost loop is contiguous (or loads a hoisted scalar), marked
/// parallel so the vectoriser needs no alias checks — every iteration touches only its own index,
/// which also makes in-place kernels safe.
struct ElementwiseEmitter {
    let name: String
    let body: [Node]
    let operands: [String]
    let operandShapes: [Shape]
    let results: [String]
    let shape: Shape
    /// First metadata number this kernel may use (three are used: loop, access group, properties).
    let metadata: Int

    /// Coalesced iteration dims and, per operand, strides over them (0 = broadcast).
    private var layout: (dims: [Int], strides: [[Int]]) {
        var dims = shape.dims.isEmpty ? [1] : shape.dims
        var strides = operandShapes.map { s -> [Int] in
            let own = s.strides
            return dims.indices.map { axis in
                let a = axis - (dims.count - s.rank)
                return a < 0 || s[a] == 1 ? 0 : own[a]
            }
        }
        // Merge axis k into k+1 when every operand walks both as one contiguous (or broadcast) run.
        var k = dims.count - 2
        while k >= 0 {
            let mergeable = strides.allSatisfy { st in (st[k] == 0 && st[k + 1] == 0) || (st[k + 1] != 0 && st[k] == st[k + 1] * dims[k + 1]) }
            if mergeable {
                dims[k + 1] *= dims[k]
                dims.remove(at: k)
                for j in strides.indices { strides[j].remove(at: k) }
            }
            k -= 1
        }
        return (dims, strides)
    }

    /// Rows in the coalesced iteration space (the unit of parallel splitting).
    var rowCount: Int { layout.dims.dropLast().reduce(1, *) }

    func emit() -> String {
        let (dims, strides) = layout
        let rowLength = dims.last ?? 1
        var f = IRText()
        f.line("define internal void @\(name)(i64 %first, i64 %end, float** noalias %ptrs) {")
        f.line("entry:")
        var bases: [String] = []
        for j in 0..<(operands.count + results.count) {
            let slot = f.value("getelementptr inbounds float*, float** %ptrs, i64 \(j)")
            bases.append(f.value("load float*, float** \(slot), align 8"))
        }
        f.line("  %empty = icmp sge i64 %first, %end")
        f.line("  br i1 %empty, label %exit, label %row")
        f.line("row:")
        f.line("  %r = phi i64 [ %first, %entry ], [ %rnext, %rowend ]")
        // Per-operand offset of this row: decompose the row index over the outer dims.
        var offsets: [String] = []
        for j in operands.indices {
            var offset = "0"
            var rest = "%r"
            for axis in stride(from: dims.count - 2, through: 0, by: -1) {
                let index = f.value("urem i64 \(rest), \(dims[axis])")
                rest = f.value("udiv i64 \(rest), \(dims[axis])")
                if strides[j][axis] != 0 {
                    let term = f.value("mul i64 \(index), \(strides[j][axis])")
                    offset = f.value("add i64 \(offset), \(term)")
                }
            }
            offsets.append(offset)
        }
        // Operands broadcast along the row are loaded once per row.
        var hoisted: [Int: String] = [:]
        for j in operands.indices where strides[j].last == 0 {
            let p = f.value("getelementptr inbounds float, float* \(bases[j]), i64 \(offsets[j])")
            hoisted[j] = f.value("load float, float* \(p), align 4")
        }
        let outBase = f.value("mul i64 %r, \(rowLength)")
        f.line("  br label %inner")
        f.line("inner:")
        f.line("  %i = phi i64 [ 0, %row ], [ %inext, %inner ]")
        var values: [String: String] = [:]
        for (j, operand) in operands.enumerated() {
            if let v = hoisted[j] { values[operand] = v; continue }
            let index = f.value("add i64 \(offsets[j]), %i")
            let p = f.value("getelementptr inbounds float, float* \(bases[j]), i64 \(index)")
            values[operand] = f.value("load float, float* \(p), align 4, !llvm.access.group !\(metadata + 1)")
        }
        for node in body {
            values[node.name] = emitOp(node, node.operands.map { values[$0] ?? "0.0" }, &f)
        }
        let outIndex = f.value("add i64 \(outBase), %i")
        for (k, result) in results.enumerated() {
            let p = f.value("getelementptr inbounds float, float* \(bases[operands.count + k]), i64 \(outIndex)")
            f.line("  store float \(values[result] ?? "0.0"), float* \(p), align 4, !llvm.access.group !\(metadata + 1)")
        }
        f.line("  %inext = add nuw nsw i64 %i, 1")
        f.line("  %idone = icmp eq i64 %inext, \(rowLength)")
        f.line("  br i1 %idone, label %rowend, label %inner, !llvm.loop !\(metadata)")
        f.line("rowend:")
        f.line("  %rnext = add nuw nsw i64 %r, 1")
        f.line("  %rdone = icmp eq i64 %rnext, %end")
        f.line("  br i1 %rdone, label %exit, label %row")
        f.line("exit:")
        f.line("  ret void")
        f.line("}")
        let (m, g) = (metadata, metadata + 1)
        f.line("!\(m) = distinct !{!\(m), !\(m + 2), !\(m + 3)}")
        f.line("!\(g) = distinct !{}")
        f.line("!\(m + 2) = !{!\"llvm.loop.parallel_accesses\", !\(g)}")
        f.line("!\(m + 3) = !{!\"llvm.loop.vectorize.enable\", i1 true}")
        return f.text
    }

    /// Metadata numbers one kernel uses.
    static let metadataPerKernel = 4

    /// One op on already-computed scalar SSA values.
    private func emitOp(_ node: Node, _ x: [String], _ f: inout IRText) -> String {
        func cmp(_ predicate: String) -> String {
            let c = f.value("fcmp \(predicate) float \(x[0]), \(x[1])")
            return f.value("uitofp i1 \(c) to float")
        }
        switch node.op {
        case .add: return f.value("fadd contract float \(x[0]), \(x[1])")
        case .sub: return f.value("fsub contract float \(x[0]), \(x[1])")
        case .mul: return f.value("fmul contract float \(x[0]), \(x[1])")
        case .div: return f.value("fdiv float \(x[0]), \(x[1])")
        case .max, .min:
            // NaN-propagating like the interpreter; LLVM 14's x86 backend cannot select llvm.maximum.
            let c = f.value("fcmp \(node.op == .max ? "ogt" : "olt") float \(x[0]), \(x[1])")
            let m = f.value("select i1 \(c), float \(x[0]), float \(x[1])")
            let nan = f.value("fcmp uno float \(x[0]), \(x[1])")
            return f.value("select i1 \(nan), float 0x7FF8000000000000, float \(m)")
        case .pow: return f.value("call float @llvm.pow.f32(float \(x[0]), float \(x[1]))")
        case .equal: return cmp("oeq")
        case .not_equal: return cmp("une")
        case .less: return cmp("olt")
        case .less_equal: return cmp("ole")
        case .greater: return cmp("ogt")
        case .greater_equal: return cmp("oge")
        case .select:
            let c = f.value("fcmp une float \(x[0]), 0.0")
            return f.value("select i1 \(c), float \(x[1]), float \(x[2])")
        case .neg: return f.value("fneg float \(x[0])")
        case .exp: return f.value("call float @kiln_exp(float \(x[0]))")
        case .log: return f.value("call float @kiln_log(float \(x[0]))")
        case .tanh: return f.value("call float @kiln_tanh(float \(x[0]))")
        case .sigmoid: return f.value("call float @kiln_sigmoid(float \(x[0]))")
        case .sqrt: return f.value("call float @llvm.sqrt.f32(float \(x[0]))")
        case .rsqrt:
            let s = f.value("call float @llvm.sqrt.f32(float \(x[0]))")
            return f.value("fdiv float 1.0, \(s)")
        case .square: return f.value("fmul float \(x[0]), \(x[0])")
        case .abs: return f.value("call float @llvm.fabs.f32(float \(x[0]))")
        case .sign:
            let pos = f.value("fcmp ogt float \(x[0]), 0.0"), neg = f.value("fcmp olt float \(x[0]), 0.0")
            let n = f.value("select i1 \(neg), float -1.0, float 0.0")
            return f.value("select i1 \(pos), float 1.0, float \(n)")
        case .relu:
            let c = f.value("fcmp ogt float \(x[0]), 0.0")
            return f.value("select i1 \(c), float \(x[0]), float 0.0")
        case .leaky_relu:
            let c = f.value("fcmp ogt float \(x[0]), 0.0")
            let scaled = f.value("fmul float \(x[0]), \(MathLibrary.f(Float(node.attributes.float("alpha"))))")
            return f.value("select i1 \(c), float \(x[0]), float \(scaled)")
        case .elu:
            let c = f.value("fcmp ogt float \(x[0]), 0.0")
            let e = f.value("call float @kiln_exp(float \(x[0]))")
            let em1 = f.value("fsub float \(e), 1.0")
            let scaled = f.value("fmul float \(em1), \(MathLibrary.f(Float(node.attributes.float("alpha"))))")
            return f.value("select i1 \(c), float \(x[0]), float \(scaled)")
        default:  // broadcast_to: the index arithmetic already broadcast the operand
            return x[0]
        }
    }
}

/// LLVM IR text with numbered SSA temporaries.
struct IRText {
    private(set) var text = ""
    private var counter = 0

    mutating func line(_ s: String) { text += s + "\n" }

    /// Emits `%tN = instruction` and returns `%tN`.
    mutating func value(_ instruction: String) -> String {
        counter += 1
        let name = "%t\(counter)"
        text += "  \(name) = \(instruction)\n"
        return name
    }
}
