import CLLVM
import KilnCodegen
import KilnIR

/// Renders one loop kernel as an LLVM function, built through the C API (`FunctionBuilder`),
/// `void NAME(i64 first, i64 end, float** buffers, i8* ctx, i64 step, i64 failures)`: its
/// buffers come as an array, so kernels that differ only in which values they read share one
/// function (an unrolled LSTM has hundreds of identical steps); `failures` numbers its first
/// failure. A kernel whose body is one parallel loop runs iterations
/// [first, end) of it (the caller splits them among threads), any other kernel runs whole.
/// Innermost parallel loops carry `llvm.loop.parallel_accesses`, so they vectorise without
/// alias checks; reduction accumulators are `reassoc` additions the vectoriser may split.
struct LoopRenderer {
    let kernel: LoopKernel

    private var buffers: [IRValue] = []
    private var loopVars: [Int: IRValue] = [:]
    private var bound: [Int: IRValue] = [:]
    private var locals: [Int: IRValue] = [:]
    private var keys: [Int: IRValue] = [:]
    /// The access group of loads and stores directly inside the current innermost parallel loop.
    private var access: LLVMMetadataRef?
    /// Inside a vectorised loop: its iteration count, the lanes its vector loads and stores
    /// touch (fewer than the vectors' width in a masked loop).
    private var activeLanes: Int?
    private var parameters: (first: IRValue, end: IRValue, ctx: IRValue, step: IRValue, failures: IRValue)?

    init(kernel: LoopKernel) {
        self.kernel = kernel
    }

    /// `(i64 first, i64 end, float** noalias buffers, i8* ctx, i64 step, i64 failures)`.
    static let parameterTypes: [IRType] = [.i64, .i64, IRType.f32.pointer.pointer, IRType.i8.pointer, .i64, .i64]

    /// Adds the kernel to `module` as the function `name`.
    mutating func render(as name: String, in module: IRModule) throws {
        let function = module.define(name, .void, Self.parameterTypes)
        module.addAttribute("noalias", to: function, at: 3)
        let f = FunctionBuilder(module: module, function: function)
        let names = ["first", "end", "buffers", "ctx", "step", "failures"]
        let p = zip(Self.parameterTypes, names).enumerated().map { f.parameter($0.offset, $0.element.0, name: $0.element.1) }
        parameters = (p[0], p[1], p[3], p[4], p[5])
        let buffersArgument = p[2]
        for (i, buffer) in kernel.buffers.enumerated() {
            let base = f.load(f.elementPointer(buffersArgument, .i64(i)))
            buffers.append(buffer.type == .i32 ? f.cast(LLVMBitCast, base, to: IRType.i32.pointer) : base)
        }
        for seed in Self.seeds(kernel.body).sorted() {
            let stepKey = f.call("kiln_mix", .i64, [p[4]])
            keys[seed] = f.call("kiln_mix", .i64, [f.binary(LLVMXor, .i64(seed), stepKey)])
        }
        let split = kernel.splitsOuterLoop
        for stmt in kernel.body { try render(stmt, f, split: split) }
        f.returnVoid()
        f.finish()
        if let error = f.errors.first { throw Diagnostic("internal: code generation of \(kernel.name): \(error)") }
    }

    private mutating func render(_ stmt: Stmt, _ f: FunctionBuilder, split: Bool = false) throws {
        switch stmt {
        case .loop(let loop):
            try renderLoop(loop, f, split: split)
        case .bind(let id, let e):
            bound[id] = try value(e, f)
        case .declare(let id, let type, let initial):
            let slot = f.alloca(irType(type))
            locals[id] = slot
            f.store(try value(initial, f), slot)
        case .assign(let id, let e):
            guard let slot = locals[id] else { throw Diagnostic("internal: \(kernel.name) assigns undeclared local \(id)") }
            f.store(try value(e, f), slot)
        case .store(let buffer, let index, let e):
            let v = try value(e, f)
            let p = f.elementPointer(buffers[buffer], try value(index, f))
            f.store(v, p, group: access)
        case .when(let condition, let then, let otherwise):
            let c = try value(condition, f)
            let (thenBlock, elseBlock, merge) = (f.label("then"), otherwise.isEmpty ? nil : f.label("else"), f.label("merge"))
            f.branch(c, thenBlock, elseBlock ?? merge)
            let saved = bound
            f.begin(thenBlock)
            for s in then { try render(s, f) }
            f.branch(merge)
            bound = saved
            if let elseBlock {
                f.begin(elseBlock)
                for s in otherwise { try render(s, f) }
                f.branch(merge)
                bound = saved
            }
            f.begin(merge)
        case .fail(let code, let a, let b):
            guard let parameters else { return }
            let (x, y) = (try value(a, f), try value(b, f))
            let id = f.binary(LLVMAdd, parameters.failures, .i64(code))
            f.callVoid("kiln_fail", [parameters.ctx, id, x, y])
            f.returnVoid()
            f.begin(f.label("after_fail"))
        case .gemm(let g):
            func at(_ buffer: Int, _ offset: Int) -> IRValue { offset == 0 ? buffers[buffer] : f.elementPointer(buffers[buffer], .i64(offset)) }
            let (a, b, c) = (at(g.a, g.aOffset), at(g.b, g.bOffset), at(g.c, g.cOffset))
            f.callVoid("cblas_sgemm", [.i32(101), .i32(g.transposeA ? 112 : 111), .i32(g.transposeB ? 112 : 111),
                                       .i32(Int32(clamping: g.m)), .i32(Int32(clamping: g.n)), .i32(Int32(clamping: g.k)), .f32(1),
                                       a, .i32(Int32(clamping: g.lda)), b, .i32(Int32(clamping: g.ldb)), .f32(g.accumulate ? 1 : 0),
                                       c, .i32(Int32(clamping: g.ldc))])
        case .vectorStore(let buffer, let index, let e):
            let v = try value(e, f)
            guard let lanes = v.type.lanes else { throw Diagnostic("internal: \(kernel.name) stores \(v.type) as a vector") }
            let p = f.cast(LLVMBitCast, f.elementPointer(buffers[buffer], try value(index, f)), to: IRType.vector(lanes).pointer)
            if let active = activeLanes, active < lanes {
                f.maskedStore(v, p, active: active)
            } else {
                f.store(v, p, group: access)
            }
        case .prefetch(let buffer, let index):
            f.prefetch(f.elementPointer(buffers[buffer], try value(index, f)))
        }
    }

    private mutating func renderLoop(_ loop: Loop, _ f: FunctionBuilder, split: Bool) throws {
        if loop.kind == .vectorized {
            // One iteration on vectors: the body's indices are those of lane 0; a loop of fewer
            // iterations than the vectors have lanes loads and stores only its own (masked).
            loopVars[loop.variable] = .i64(0)
            let savedBound = bound
            activeLanes = loop.extent
            defer { activeLanes = nil }
            for s in loop.body { try render(s, f) }
            bound = savedBound
            return
        }
        let (header, latch, exit) = (f.label("loop"), f.label("latch"), f.label("exit"))
        let start: IRValue = split ? (parameters?.first ?? .i64(0)) : .i64(0)
        let end: IRValue = split ? (parameters?.end ?? .i64(0)) : .i64(loop.extent)
        if split {
            f.branch(f.compare("slt", start, end), header, exit)
        } else {
            f.branch(header)
        }
        let preheader = f.currentBlock
        f.begin(header)
        let i = f.phi(.i64)
        f.incoming(i, start, from: preheader)
        loopVars[loop.variable] = i
        // Innermost: no loop at any depth. A GEMM's unit loop holds its tiles' loops under a
        // `when`; forcing LLVM's vectoriser onto it fails (a "loop not vectorized" warning).
        let innermost = !Stmt.containLoop(loop.body)
        let savedAccess = access, savedBound = bound
        var loopID: LLVMMetadataRef?
        let m = f.module
        if loop.isDataParallel && innermost {
            // Scalar data-parallel loops the schedule did not vectorise: LLVM may, without alias checks.
            let group = m.accessGroup()
            loopID = m.loopID([m.node([m.string("llvm.loop.parallel_accesses"), group]),
                               m.node([m.string("llvm.loop.vectorize.enable"), m.metadata(.bool(true))])])
            access = group
        } else {
            access = nil
            if Self.holdsVectorCode(loop.body) {
                // A register-tiled micro-kernel is already as wide as the registers allow:
                // unrolling it only multiplies the code LLVM must schedule (and compile time).
                loopID = m.loopID([m.node([m.string("llvm.loop.unroll.disable")])])
            }
        }
        for s in loop.body { try render(s, f) }
        f.branch(latch)
        f.begin(latch)
        let next = f.increment(i)
        f.incoming(i, next, from: latch)
        f.branch(f.compare("slt", next, end), header, exit, loop: loopID)
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

    private mutating func value(_ e: Expr, _ f: FunctionBuilder) throws -> IRValue {
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
            return f.load(f.elementPointer(buffers[buffer], try value(index, f)), group: access)
        case .unary(let op, let x):
            return unary(op, try value(x, f), f)
        case .binary(let op, let a, let b):
            return binary(op, try value(a, f), try value(b, f), f)
        case .compare(let c, let a, let b):
            let (x, y) = (try value(a, f), try value(b, f))
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
            return f.select(try value(c, f), try value(a, f), try value(b, f))
        case .convert(let x, let t):
            return convert(try value(x, f), to: irType(t), f)
        case .random(let kind, let seed, let index):
            guard let key = keys[seed] else { throw Diagnostic("internal: \(kernel.name) has no key for seed \(seed)") }
            return random(kind, key: key, index: try value(index, f), f)
        case .vectorLoad(let buffer, let index, let lanes):
            let p = f.cast(LLVMBitCast, f.elementPointer(buffers[buffer], try value(index, f)), to: IRType.vector(lanes).pointer)
            if let active = activeLanes, active < lanes { return f.maskedLoad(p, lanes: lanes, active: active) }
            return f.load(p, group: access)
        case .stridedLoad(let buffer, let index, let lanes, let stride):
            // 2·lanes consecutive floats (in a masked loop only the 2·active − 1 its lanes
            // read), then their even lanes.
            guard stride == 2 else { throw Diagnostic("internal: \(kernel.name) loads with stride \(stride)") }
            let start = f.elementPointer(buffers[buffer], try value(index, f))
            let needed = 2 * (activeLanes.map { Swift.min($0, lanes) } ?? lanes) - 1
            var halves: [IRValue] = []
            for half in 0..<2 {
                let p = f.cast(LLVMBitCast, half == 0 ? start : f.elementPointer(start, .i64(lanes)), to: IRType.vector(lanes).pointer)
                let active = Swift.max(0, Swift.min(lanes, needed - half * lanes))
                halves.append(active == lanes ? f.load(p, group: access) : f.maskedLoad(p, lanes: lanes, active: active))
            }
            return f.shuffle(halves[0], halves[1], lanes: (0..<lanes).map { 2 * $0 })
        case .splat(let x, let lanes):
            return f.splat(try value(x, f), lanes: lanes)
        case .fma(let a, let b, let c):
            let (x, y, z) = (try value(a, f), try value(b, f), try value(c, f))
            return f.call("llvm.fma." + x.type.intrinsicSuffix, x.type, [x, y, z])
        case .swapLanes(let x, let distance):
            let v = try value(x, f)
            guard let lanes = v.type.lanes, distance > 0, distance < lanes else {
                throw Diagnostic("internal: \(kernel.name) swaps lanes \(distance) apart of a \(v.type)")
            }
            return f.shuffle(v, v, lanes: (0..<lanes).map { $0 ^ distance })
        case .lane(let x, let index):
            let v = try value(x, f)
            guard let lanes = v.type.lanes, index >= 0, index < lanes else {
                throw Diagnostic("internal: \(kernel.name) reads lane \(index) of a \(v.type)")
            }
            return f.extractLane(v, index)
        }
    }

    private func unary(_ op: UnaryOp, _ x: IRValue, _ f: FunctionBuilder) -> IRValue {
        let zero = IRValue(integer: 0, x.type)
        switch op {
        case .neg: return x.type.isFloat ? f.fneg(x) : f.binary(LLVMSub, zero, x)
        case .abs:
            if x.type.isFloat { return f.call("llvm.fabs." + x.type.intrinsicSuffix, x.type, [x]) }
            return f.select(f.compare("slt", x, zero), f.binary(LLVMSub, zero, x), x)
        // The math library's routines, on f32 or (in vectorised loops) on whole vectors.
        case .exp: return f.call(MathLibrary.name("kiln_exp", for: x.type), x.type, [x])
        case .expm1: return f.call(MathLibrary.name("kiln_expm1", for: x.type), x.type, [x])
        case .log: return f.call(MathLibrary.name("kiln_log", for: x.type), x.type, [x])
        case .log1p: return f.call(MathLibrary.name("kiln_log1p", for: x.type), x.type, [x])
        case .sqrt: return f.call("llvm.sqrt." + x.type.intrinsicSuffix, x.type, [x])
        case .tanh: return f.call(MathLibrary.name("kiln_tanh", for: x.type), x.type, [x])
        case .sigmoid: return f.call(MathLibrary.name("kiln_sigmoid", for: x.type), x.type, [x])
        case .cos: return f.call("llvm.cos.f32", .f32, [x])
        case .floor: return f.call("llvm.floor." + x.type.intrinsicSuffix, x.type, [x])
        // x ≠ x only for NaN: one comparison for a float or a whole vector (a lane mask).
        case .isNaN: return f.compare("uno", x, x)
        case .not:
            if case .mask(let lanes) = x.type { return f.binary(LLVMXor, x, f.laneMask(active: lanes, lanes: lanes)) }
            return f.binary(LLVMXor, x, .bool(true))
        }
    }

    private func binary(_ op: BinaryOp, _ a: IRValue, _ b: IRValue, _ f: FunctionBuilder) -> IRValue {
        let float = a.type.isFloat
        switch op {
        case .add: return f.binary(float ? LLVMFAdd : LLVMAdd, a, b)
        case .sub: return f.binary(float ? LLVMFSub : LLVMSub, a, b)
        case .mul: return f.binary(float ? LLVMFMul : LLVMMul, a, b)
        case .div: return f.binary(float ? LLVMFDiv : LLVMSDiv, a, b)
        case .rem: return f.binary(float ? LLVMFRem : LLVMSRem, a, b)
        case .pow: return f.call("llvm.pow.f32", .f32, [a, b])
        case .addReassoc: return float ? f.reassociableAdd(a, b) : f.binary(LLVMAdd, a, b)
        case .and: return f.binary(LLVMAnd, a, b)
        case .or: return f.binary(LLVMOr, a, b)
        case .maxNaN, .minNaN:
            // Swift's max(a, b) is b >= a ? b : a, min(a, b) is b < a ? b : a; NaN wins.
            let takeB = f.compare(op == .maxNaN ? (float ? "oge" : "sge") : (float ? "olt" : "slt"), b, a)
            let chosen = f.select(takeB, b, a)
            guard float else { return chosen }
            let nan = a.type.lanes.map { f.splat(.f32(.nan), lanes: $0) } ?? .f32(.nan)
            return f.select(f.compare("uno", a, b), nan, chosen)
        }
    }

    private func convert(_ x: IRValue, to type: IRType, _ f: FunctionBuilder) -> IRValue {
        if x.type == type { return x }
        switch (x.type, type) {
        case (.f32, .i32): return f.call("llvm.fptosi.sat.i32.f32", .i32, [x])
        case (.i32, .f32), (.i64, .f32): return f.cast(LLVMSIToFP, x, to: .f32)
        case (.i1, .f32): return f.cast(LLVMUIToFP, x, to: .f32)
        case (.i32, .i64), (.i1, .i64), (.i1, .i32): return f.cast(x.type == .i1 ? LLVMZExt : LLVMSExt, x, to: type)
        case (.i64, .i32): return f.cast(LLVMTrunc, x, to: .i32)
        default:
            f.invalid("no conversion from \(x.type) to \(type)")
            return x
        }
    }

    /// KilnRandom: uniform = (mix(key ^ i) >> 40)·2⁻²⁴; normal by Box–Muller over 2i and 2i + 1.
    private func random(_ kind: RandomKind, key: IRValue, index: IRValue, _ f: FunctionBuilder) -> IRValue {
        func bits(_ i: IRValue) -> IRValue {
            let mixed = f.call("kiln_mix", .i64, [f.binary(LLVMXor, key, i)])
            return f.cast(LLVMUIToFP, f.binary(LLVMLShr, mixed, .i64(40)), to: .f32)
        }
        let scale = IRValue.f32(1.0 / 16_777_216.0)
        switch kind {
        case .uniform:
            return f.binary(LLVMFMul, bits(index), scale)
        case .normal:
            let twice = f.binary(LLVMMul, index, .i64(2))
            let u1 = f.binary(LLVMFMul, f.binary(LLVMFAdd, bits(twice), .f32(0.5)), scale)
            let u2 = f.binary(LLVMFMul, bits(f.binary(LLVMAdd, twice, .i64(1))), scale)
            let radius = f.call("llvm.sqrt.f32", .f32, [f.binary(LLVMFMul, .f32(-2), f.call("llvm.log.f32", .f32, [u1]))])
            let angle = f.call("llvm.cos.f32", .f32, [f.binary(LLVMFMul, .f32(2 * Float.pi), u2)])
            return f.binary(LLVMFMul, radius, angle)
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
            case .vectorLoad(_, let i, _), .stridedLoad(_, let i, _, _), .splat(let i, _): visit(i)
            case .fma(let a, let b, let c): visit(a); visit(b); visit(c)
            case .swapLanes(let x, _), .lane(let x, _): visit(x)
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
            case .prefetch(_, let i): visit(i)
            }
        }
        body.forEach(visit)
        return found
    }
}
