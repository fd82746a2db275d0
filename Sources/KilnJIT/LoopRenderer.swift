import KilnCodegen
import KilnIR

/// Renders one loop kernel as an LLVM function
/// `void NAME(i64 first, i64 end, float** buffers, i8* ctx, i64 step, i64 failures)`: its
/// buffers come as an array, so kernels that differ only in which values they read share one
/// function (an unrolled LSTM has hundreds of identical steps); `failures` numbers its first
/// failure. A kernel whose body is one parallel loop runs iterations
/// [first, end) of it (the caller splits them among threads), any other kernel runs whole.
/// Innermost parallel loops carry `llvm.loop.parallel_accesses`, so they vectorise without
/// alias checks; reduction accumulators are `reassoc` additions the vectoriser may split.
struct LoopRenderer {
    let kernel: LoopKernel

    private var f = FunctionBuilder()
    private var allocas: [String] = []
    private var buffers: [IRValue] = []
    private var loopVars: [Int: IRValue] = [:]
    private var bound: [Int: IRValue] = [:]
    private var locals: [Int: IRValue] = [:]
    private var keys: [Int: IRValue] = [:]
    /// Access-group suffix for loads and stores directly inside the current innermost parallel loop.
    private var access = ""

    init(kernel: LoopKernel) {
        self.kernel = kernel
    }

    static let signature = "(i64 %first, i64 %end, float** noalias %buffers, i8* %ctx, i64 %step, i64 %failures)"
    static let type = "void (i64, i64, float**, i8*, i64, i64)"

    mutating func render(as name: String, _ metadata: inout MetadataTable) throws -> String {
        f.begin("entry")
        for (i, buffer) in kernel.buffers.enumerated() {
            let slot = f.elementPointer(IRValue(text: "%buffers", type: IRType.f32.pointer.pointer), .i64(i))
            let base = f.load(slot)
            buffers.append(buffer.type == .i32 ? f.cast("bitcast", base, to: IRType.i32.pointer) : base)
        }
        for seed in Self.seeds(kernel.body).sorted() {
            let stepKey = f.call("kiln_mix", .i64, [IRValue(text: "%step", type: .i64)])
            keys[seed] = f.call("kiln_mix", .i64, [f.binary("xor", .i64(seed), stepKey)])
        }
        let split = kernel.splitsOuterLoop
        for stmt in kernel.body { try render(stmt, &metadata, split: split) }
        f.raw("ret void")
        if let error = f.errors.first { throw Diagnostic("internal: code generation of \(kernel.name): \(error)") }
        var lines = f.lines
        lines.insert(contentsOf: allocas.map { "  " + $0 }, at: 1)
        return "define void @\(name)\(Self.signature) {\n" + lines.joined(separator: "\n") + "\n}\n"
    }

    private mutating func render(_ stmt: Stmt, _ metadata: inout MetadataTable, split: Bool = false) throws {
        switch stmt {
        case .loop(let loop):
            try renderLoop(loop, &metadata, split: split)
        case .bind(let id, let e):
            bound[id] = try value(e)
        case .declare(let id, let type, let initial):
            let slot = IRValue(text: "%local\(id)", type: irType(type).pointer)
            allocas.append("\(slot.text) = alloca \(irType(type)), align 8")
            locals[id] = slot
            f.store(try value(initial), slot)
        case .assign(let id, let e):
            guard let slot = locals[id] else { throw Diagnostic("internal: \(kernel.name) assigns undeclared local \(id)") }
            f.store(try value(e), slot)
        case .store(let buffer, let index, let e):
            let v = try value(e)
            let p = f.elementPointer(buffers[buffer], try value(index))
            f.store(v, p, metadata: access)
        case .when(let condition, let then, let otherwise):
            let c = try value(condition)
            let (thenLabel, elseLabel, merge) = (f.label("then"), f.label("else"), f.label("merge"))
            f.branch(c, thenLabel, otherwise.isEmpty ? merge : elseLabel)
            let saved = bound
            f.begin(thenLabel)
            for s in then { try render(s, &metadata) }
            f.branch(merge)
            bound = saved
            if !otherwise.isEmpty {
                f.begin(elseLabel)
                for s in otherwise { try render(s, &metadata) }
                f.branch(merge)
                bound = saved
            }
            f.begin(merge)
        case .fail(let code, let a, let b):
            let (x, y) = (try value(a), try value(b))
            let id = f.binary("add", IRValue(text: "%failures", type: .i64), .i64(code))
            f.callVoid("kiln_fail", [IRValue(text: "%ctx", type: .i8Pointer), id, x, y])
            f.raw("ret void")
            f.begin(f.label("after_fail"))
        case .gemm(let g):
            func at(_ buffer: Int, _ offset: Int) -> IRValue { offset == 0 ? buffers[buffer] : f.elementPointer(buffers[buffer], .i64(offset)) }
            let (a, b, c) = (at(g.a, g.aOffset), at(g.b, g.bOffset), at(g.c, g.cOffset))
            f.callVoid("cblas_sgemm", [.i32(101), .i32(g.transposeA ? 112 : 111), .i32(g.transposeB ? 112 : 111),
                                       .i32(Int32(clamping: g.m)), .i32(Int32(clamping: g.n)), .i32(Int32(clamping: g.k)), .f32(1),
                                       a, .i32(Int32(clamping: g.lda)), b, .i32(Int32(clamping: g.ldb)), .f32(g.accumulate ? 1 : 0),
                                       c, .i32(Int32(clamping: g.ldc))])
        case .vectorStore(let buffer, let index, let e):
            let v = try value(e)
            guard let lanes = v.type.lanes else { throw Diagnostic("internal: \(kernel.name) stores \(v.typed) as a vector") }
            let p = f.cast("bitcast", f.elementPointer(buffers[buffer], try value(index)), to: IRType.vector(lanes).pointer)
            f.store(v, p, metadata: access)
        }
    }

    private mutating func renderLoop(_ loop: Loop, _ metadata: inout MetadataTable, split: Bool) throws {
        if loop.kind == .vectorized {
            // One iteration on vectors: the body's indices are those of lane 0.
            loopVars[loop.variable] = .i64(0)
            let savedBound = bound
            for s in loop.body { try render(s, &metadata) }
            bound = savedBound
            return
        }
        let (header, latch, exit) = (f.label("loop"), f.label("latch"), f.label("exit"))
        let start: IRValue = split ? IRValue(text: "%first", type: .i64) : .i64(0)
        let end: IRValue = split ? IRValue(text: "%end", type: .i64) : .i64(loop.extent)
        if split {
            f.branch(f.compare("slt", start, end), header, exit)
        } else {
            f.branch(header)
        }
        let preheader = f.currentBlock
        f.begin(header)
        let next = f.reserve(.i64)
        let i = f.phi(.i64, [(start, preheader), (next, latch)])
        loopVars[loop.variable] = i
        let innermost = !loop.body.contains { if case .loop = $0 { return true } else { return false } }
        let savedAccess = access, savedBound = bound
        var loopMetadata = ""
        if loop.isDataParallel && innermost {
            // Scalar data-parallel loops the schedule did not vectorise: LLVM may, without alias checks.
            let group = metadata.add { _ in "distinct !{}" }
            let parallel = metadata.add { _ in "!{!\"llvm.loop.parallel_accesses\", !\(group)}" }
            let vectorize = metadata.add { _ in "!{!\"llvm.loop.vectorize.enable\", i1 true}" }
            let id = metadata.add { id in "distinct !{!\(id), !\(parallel), !\(vectorize)}" }
            access = ", !llvm.access.group !\(group)"
            loopMetadata = ", !llvm.loop !\(id)"
        } else {
            access = ""
            if Self.holdsVectorCode(loop.body) {
                // A register-tiled micro-kernel is already as wide as the registers allow:
                // unrolling it only multiplies the code LLVM must schedule (and compile time).
                let disable = metadata.add { _ in "!{!\"llvm.loop.unroll.disable\"}" }
                let id = metadata.add { id in "distinct !{!\(id), !\(disable)}" }
                loopMetadata = ", !llvm.loop !\(id)"
            }
        }
        for s in loop.body { try render(s, &metadata) }
        f.branch(latch)
        f.begin(latch)
        f.define(next, "add nuw nsw i64 \(i.text), 1")
        f.branch(f.compare("slt", next, end), header, exit, metadata: loopMetadata)
        f.begin(exit)
        access = savedAccess
        bound = savedBound
    }

    private func irType(_ t: ScalarType) -> IRType {
        switch t {
        case .f32: return .f32
        case .i32: return .i32
        case .i64: return .i64
        case .i1: return .i1
        case .f32x4, .f32x8, .f32x16: return .vector(t.lanes)
        }
    }

    private mutating func value(_ e: Expr) throws -> IRValue {
        switch e {
        case .i64(let v): return .i64(v)
        case .i32(let v): return .i32(v)
        case .f32(let v): return .f32(v)
        case .bool(let v): return .bool(v)
        case .loopVar(let n):
            guard let v = loopVars[n] else { throw Diagnostic("internal: \(kernel.name) uses loop variable \(n) outside its loop") }
            return v
        case .value(let n):
            if let v = bound[n] { return v }
            if let slot = locals[n] { return f.load(slot) }
            throw Diagnostic("internal: \(kernel.name) uses value \(n) before it is defined")
        case .load(let buffer, let index):
            return f.load(f.elementPointer(buffers[buffer], try value(index)), metadata: access)
        case .unary(let op, let x):
            return try unary(op, try value(x))
        case .binary(let op, let a, let b):
            return binary(op, try value(a), try value(b))
        case .compare(let c, let a, let b):
            let (x, y) = (try value(a), try value(b))
            let predicate: String
            switch c {
            case .eq: predicate = x.type.isFloat ? "oeq" : "eq"
            case .ne: predicate = x.type.isFloat ? "une" : "ne"
            case .lt: predicate = x.type.isFloat ? "olt" : "slt"
            case .le: predicate = x.type.isFloat ? "ole" : "sle"
            case .gt: predicate = x.type.isFloat ? "ogt" : "sgt"
            case .ge: predicate = x.type.isFloat ? "oge" : "sge"
            }
            return f.compare(predicate, x, y)
        case .select(let c, let a, let b):
            return f.select(try value(c), try value(a), try value(b))
        case .convert(let x, let t):
            return convert(try value(x), to: irType(t))
        case .random(let kind, let seed, let index):
            guard let key = keys[seed] else { throw Diagnostic("internal: \(kernel.name) has no key for seed \(seed)") }
            return random(kind, key: key, index: try value(index))
        case .vectorLoad(let buffer, let index, let lanes):
            let p = f.cast("bitcast", f.elementPointer(buffers[buffer], try value(index)), to: IRType.vector(lanes).pointer)
            return f.load(p, metadata: access)
        case .splat(let x, let lanes):
            return f.splat(try value(x), lanes: lanes)
        case .fma(let a, let b, let c):
            let (x, y, z) = (try value(a), try value(b), try value(c))
            let name = x.type.lanes.map { "llvm.fma.v\($0)f32" } ?? "llvm.fma.f32"
            return f.call(name, x.type, [x, y, z])
        }
    }

    private mutating func unary(_ op: UnaryOp, _ x: IRValue) throws -> IRValue {
        switch op {
        case .neg: return x.type.isFloat ? f.emit("fneg \(x.typed)", x.type) : f.binary("sub", IRValue(text: "0", type: x.type), x)
        case .abs:
            if let lanes = x.type.lanes { return f.call("llvm.fabs.v\(lanes)f32", x.type, [x]) }
            if x.type.isFloat { return f.call("llvm.fabs.f32", .f32, [x]) }
            let negative = f.compare("slt", x, IRValue(text: "0", type: x.type))
            return f.select(negative, f.binary("sub", IRValue(text: "0", type: x.type), x), x)
        case .exp: return f.call("kiln_exp", .f32, [x])
        case .expm1: return f.call("kiln_expm1", .f32, [x])
        case .log: return f.call("kiln_log", .f32, [x])
        case .log1p: return f.call("kiln_log1p", .f32, [x])
        case .sqrt: return f.call(x.type.lanes.map { "llvm.sqrt.v\($0)f32" } ?? "llvm.sqrt.f32", x.type, [x])
        case .tanh: return f.call("kiln_tanh", .f32, [x])
        case .sigmoid: return f.call("kiln_sigmoid", .f32, [x])
        case .cos: return f.call("llvm.cos.f32", .f32, [x])
        case .floor: return f.call("llvm.floor.f32", .f32, [x])
        case .isNaN: return f.compare("uno", x, .f32(0))
        case .not: return f.binary("xor", x, .bool(true))
        }
    }

    private mutating func binary(_ op: BinaryOp, _ a: IRValue, _ b: IRValue) -> IRValue {
        let float = a.type.isFloat
        switch op {
        case .add: return f.binary(float ? "fadd" : "add", a, b)
        case .sub: return f.binary(float ? "fsub" : "sub", a, b)
        case .mul: return f.binary(float ? "fmul" : "mul", a, b)
        case .div: return f.binary(float ? "fdiv" : "sdiv", a, b)
        case .rem: return f.binary(float ? "frem" : "srem", a, b)
        case .pow: return f.call("llvm.pow.f32", .f32, [a, b])
        case .addReassoc: return float ? f.binary("fadd", a, b, flags: "reassoc") : f.binary("add", a, b)
        case .and: return f.binary("and", a, b)
        case .or: return f.binary("or", a, b)
        case .maxNaN, .minNaN:
            // Swift's max(a, b) is b >= a ? b : a, min(a, b) is b < a ? b : a; NaN wins.
            let takeB = f.compare(op == .maxNaN ? (float ? "oge" : "sge") : (float ? "olt" : "slt"), b, a)
            let chosen = f.select(takeB, b, a)
            guard float else { return chosen }
            let nan = a.type.lanes.map { f.splat(.f32(.nan), lanes: $0) } ?? .f32(.nan)
            return f.select(f.compare("uno", a, b), nan, chosen)
        }
    }

    private mutating func convert(_ x: IRValue, to type: IRType) -> IRValue {
        if x.type == type { return x }
        switch (x.type, type) {
        case (.f32, .i32): return f.call("llvm.fptosi.sat.i32.f32", .i32, [x])
        case (.i32, .f32), (.i64, .f32): return f.cast("sitofp", x, to: .f32)
        case (.i1, .f32): return f.cast("uitofp", x, to: .f32)
        case (.i32, .i64), (.i1, .i64), (.i1, .i32): return f.cast(x.type == .i1 ? "zext" : "sext", x, to: type)
        case (.i64, .i32): return f.cast("trunc", x, to: .i32)
        default:
            f.invalid("no conversion from \(x.type) to \(type)")
            return x
        }
    }

    /// KilnRandom: uniform = (mix(key ^ i) >> 40)·2⁻²⁴; normal by Box–Muller over 2i and 2i + 1.
    private mutating func random(_ kind: RandomKind, key: IRValue, index: IRValue) -> IRValue {
        func bits(_ i: IRValue) -> IRValue {
            let mixed = f.call("kiln_mix", .i64, [f.binary("xor", key, i)])
            return f.cast("uitofp", f.binary("lshr", mixed, .i64(40)), to: .f32)
        }
        let scale = IRValue.f32(1.0 / 16_777_216.0)
        switch kind {
        case .uniform:
            return f.binary("fmul", bits(index), scale)
        case .normal:
            let twice = f.binary("mul", index, .i64(2))
            let u1 = f.binary("fmul", f.binary("fadd", bits(twice), .f32(0.5)), scale)
            let u2 = f.binary("fmul", bits(f.binary("add", twice, .i64(1))), scale)
            let radius = f.call("llvm.sqrt.f32", .f32, [f.binary("fmul", .f32(-2), f.call("llvm.log.f32", .f32, [u1]))])
            let angle = f.call("llvm.cos.f32", .f32, [f.binary("fmul", .f32(2 * Float.pi), u2)])
            return f.binary("fmul", radius, angle)
        }
    }

    /// Whether `body` (not counting nested loops) computes on vectors: a micro-kernel's loop.
    static func holdsVectorCode(_ body: [Stmt]) -> Bool {
        body.contains { s in
            switch s {
            case .assign(_, .fma), .bind(_, .fma): return true
            default: return false
            }
        }
    }

    /// Seeds of the random streams a body draws from.
    static func seeds(_ body: [Stmt]) -> Set<Int> {
        var found = Set<Int>()
        func visit(_ e: Expr) {
            switch e {
            case .i64, .i32, .f32, .bool, .loopVar, .value: break
            case .load(_, let i): visit(i)
            case .unary(_, let x), .convert(let x, _): visit(x)
            case .binary(_, let a, let b), .compare(_, let a, let b): visit(a); visit(b)
            case .select(let c, let a, let b): visit(c); visit(a); visit(b)
            case .random(_, let seed, let i): found.insert(seed); visit(i)
            case .vectorLoad(_, let i, _), .splat(let i, _): visit(i)
            case .fma(let a, let b, let c): visit(a); visit(b); visit(c)
            }
        }
        func visit(_ s: Stmt) {
            switch s {
            case .loop(let l): l.body.forEach(visit)
            case .bind(_, let e), .declare(_, _, let e), .assign(_, let e): visit(e)
            case .store(_, let i, let v): visit(i); visit(v)
            case .when(let c, let t, let o): visit(c); t.forEach(visit); o.forEach(visit)
            case .fail(_, let a, let b): visit(a); visit(b)
            case .gemm: break
            case .vectorStore(_, let i, let v): visit(i); visit(v)
            }
        }
        body.forEach(visit)
        return found
    }
}
