/// Loop IR as text, for `kiln dump --loops` and golden tests:
///
///     kernel k0_add(%0: f32[48] a, %1: f32[8] c, %2: f32[48] y) {
///       parallel for v1 in 0..<6 {
///         for v2 in 0..<8 {
///           v3 = load %0[v1 * 8 + v2]
///           ...
public enum LoopPrinter {
    /// Each kernel as lowered and, when the schedule changed it, the primitives applied and
    /// the kernel as scheduled for `target` (`kiln dump --loops`, the golden loop tests).
    public static func print(lowered kernels: [LoopKernel], scheduledFor target: CodegenTarget) -> String {
        var out = ""
        for kernel in kernels {
            out += print(kernel)
            let schedule = Scheduler.schedule(kernel, for: target)
            if !schedule.log.isEmpty {
                out += "# scheduled: " + schedule.log.joined(separator: "; ") + "\n" + print(schedule.kernel)
            }
            out += "\n"
        }
        return out
    }

    public static func print(_ kernel: LoopKernel) -> String {
        let buffers = kernel.buffers.enumerated().map { i, b in "%\(i): \(b.type.rawValue)[\(b.count)] \(b.isScratch ? "scratch" : b.name)" }
        var out = "kernel \(kernel.name)(\(buffers.joined(separator: ", "))) {\n"
        for stmt in kernel.body { out += print(stmt, indent: "  ") }
        for (i, failure) in kernel.failures.enumerated() { out += "  # failure \(i): \(failure.message)\n" }
        return out + "}\n"
    }

    static func print(_ stmt: Stmt, indent: String) -> String {
        switch stmt {
        case .loop(let l):
            var kind = l.kind == .serial ? "" : "\(l.kind.rawValue) "
            if l.kind == .vectorized, let lanes = vectorLanes(l.body), lanes > l.extent { kind = "vectorized masked \(l.extent)/\(lanes) " }
            let axis = l.axis == .dataParallel ? "" : " ordered"
            var out = "\(indent)\(kind)for v\(l.variable) in 0..<\(l.extent)\(axis) {\n"
            for s in l.body { out += print(s, indent: indent + "  ") }
            return out + "\(indent)}\n"
        case .bind(let id, let e): return "\(indent)v\(id) = \(print(e))\n"
        case .declare(let id, let t, let e): return "\(indent)var v\(id): \(t.rawValue) = \(print(e))\n"
        case .assign(let id, let e): return "\(indent)v\(id) := \(print(e))\n"
        case .store(let buffer, let index, let value): return "\(indent)store %\(buffer)[\(print(index))] = \(print(value))\n"
        case .when(let c, let then, let otherwise):
            var out = "\(indent)if \(print(c)) {\n"
            for s in then { out += print(s, indent: indent + "  ") }
            if !otherwise.isEmpty {
                out += "\(indent)} else {\n"
                for s in otherwise { out += print(s, indent: indent + "  ") }
            }
            return out + "\(indent)}\n"
        case .fail(let code, let a, let b): return "\(indent)fail \(code)(\(print(a)), \(print(b)))\n"
        case .gemm(let g):
            return "\(indent)sgemm(%\(g.a)+\(g.aOffset)\(g.transposeA ? "ᵀ" : ""), %\(g.b)+\(g.bOffset)\(g.transposeB ? "ᵀ" : "") -> %\(g.c)+\(g.cOffset)"
                + ", m=\(g.m) n=\(g.n) k=\(g.k) lda=\(g.lda) ldb=\(g.ldb) ldc=\(g.ldc)\(g.accumulate ? " accumulate" : ""))\n"
        case .vectorStore(let buffer, let index, let value): return "\(indent)store %\(buffer)[\(print(index))...] = \(print(value))\n"
        case .prefetch(let buffer, let index): return "\(indent)prefetch %\(buffer)[\(print(index))]\n"
        }
    }

    /// The width of the vectors a vectorised loop's body computes on.
    private static func vectorLanes(_ body: [Stmt]) -> Int? {
        for s in body {
            switch s {
            case .vectorStore(_, _, let e), .bind(_, let e): if let n = lanes(e) { return n }
            case .loop, .declare, .assign, .store, .when, .fail, .gemm, .prefetch: break
            }
        }
        return nil
    }

    private static func lanes(_ e: Expr) -> Int? {
        switch e {
        case .vectorLoad(_, _, let n), .stridedLoad(_, _, let n, _), .splat(_, let n): return n
        case .unary(_, let x), .convert(let x, _): return lanes(x)
        case .binary(_, let a, let b), .compare(_, let a, let b): return lanes(a) ?? lanes(b)
        case .select(_, let a, let b): return lanes(a) ?? lanes(b)
        case .fma(let a, let b, let c): return lanes(a) ?? lanes(b) ?? lanes(c)
        case .swapLanes(let x, _): return lanes(x)
        case .lane: return nil
        case .i64, .i32, .f32, .bool, .loopVar, .value, .load, .random: return nil
        }
    }

    public static func print(_ e: Expr) -> String {
        switch e {
        case .i64(let v): return "\(v)"
        case .i32(let v): return "\(v)i32"
        case .f32(let v): return v.isNaN ? "nan" : "\(v)f"
        case .bool(let v): return "\(v)"
        case .loopVar(let n), .value(let n): return "v\(n)"
        case .load(let buffer, let index): return "%\(buffer)[\(print(index))]"
        case .unary(let op, let x): return "\(op.rawValue)(\(print(x)))"
        case .binary(let op, let a, let b):
            switch op {
            case .add: return "(\(print(a)) + \(print(b)))"
            case .sub: return "(\(print(a)) - \(print(b)))"
            case .mul: return "(\(print(a)) * \(print(b)))"
            case .div: return "(\(print(a)) / \(print(b)))"
            case .rem: return "(\(print(a)) % \(print(b)))"
            case .pow, .maxNaN, .minNaN, .addReassoc, .and, .or: return "\(op.rawValue)(\(print(a)), \(print(b)))"
            }
        case .compare(let c, let a, let b): return "\(c.rawValue)(\(print(a)), \(print(b)))"
        case .select(let c, let a, let b): return "select(\(print(c)), \(print(a)), \(print(b)))"
        case .convert(let x, let t): return "\(t.rawValue)(\(print(x)))"
        case .random(let kind, let seed, let index): return "random_\(kind.rawValue)(seed \(seed), \(print(index)))"
        case .vectorLoad(let buffer, let index, let lanes): return "%\(buffer)[\(print(index))...+\(lanes)]"
        case .stridedLoad(let buffer, let index, let lanes, let stride): return "%\(buffer)[\(print(index))...+\(lanes) step \(stride)]"
        case .splat(let x, let lanes): return "splat\(lanes)(\(print(x)))"
        case .fma(let a, let b, let c): return "fma(\(print(a)), \(print(b)), \(print(c)))"
        case .swapLanes(let x, let distance): return "swap(\(print(x)), \(distance))"
        case .lane(let x, let index): return "lane(\(print(x)), \(index))"
        }
    }
}
