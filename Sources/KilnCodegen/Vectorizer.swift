/// The legality check and rewrite behind `Schedule.vectorize`: one innermost loop's body,
/// statement by statement, into vector form, or a `ScheduleError` naming what has none.
struct Vectorizer {
    let kernel: LoopKernel
    let variable: Int
    let lanes: Int
    /// Types of the values bound anywhere in the kernel (numbers are unique per kernel).
    private var types: [Int: ScalarType] = [:]
    /// Values bound inside the loop: vectors (f32) or, when they do not depend on the loop
    /// variable, scalars.
    private var vectors: Set<Int> = []
    /// Values bound inside the loop that are lane masks (comparisons of f32 vectors).
    private var masks: Set<Int> = []
    private var varying: Set<Int> = []
    /// What the body has stored so far, by buffer and index: a later load of the same element
    /// reads the stored vector instead of memory (a fused epilogue reads back the element it
    /// just stored; hardware cannot forward a masked store to a masked load).
    private var stored: [Int: [Expr: Expr]] = [:]
    /// A reduction's accumulators (`Schedule.vectorizeReduction`): scalar local → the vector
    /// local its accumulation is rewritten into.
    var accumulators: [Int: (vector: Int, identity: Float)] = [:]

    init(kernel: LoopKernel, variable: Int, lanes: Int) {
        self.kernel = kernel
        self.variable = variable
        self.lanes = lanes
        collectTypes(kernel.body)
    }

    private mutating func collectTypes(_ stmts: [Stmt]) {
        for s in stmts {
            switch s {
            case .loop(let l): types[l.variable] = .i64; collectTypes(l.body)
            case .bind(let id, let e): types[id] = type(of: e)
            case .declare(let id, let t, _): types[id] = t
            case .when(_, let then, let otherwise): collectTypes(then); collectTypes(otherwise)
            case .assign, .store, .fail, .gemm, .vectorStore, .prefetch: break
            }
        }
    }

    /// The type an expression computes (the loop IR is typed by its leaves).
    func type(of e: Expr) -> ScalarType {
        switch e {
        case .i64, .loopVar: return .i64
        case .i32: return .i32
        case .f32, .random: return .f32
        case .bool, .compare: return .i1
        case .value(let n): return types[n] ?? .i64
        case .load(let buffer, _): return kernel.buffers.indices.contains(buffer) ? kernel.buffers[buffer].type : .f32
        case .unary(let op, let x): return op == .isNaN || op == .not ? .i1 : type(of: x)
        case .binary(_, let a, _), .fma(let a, _, _): return type(of: a)
        case .select(_, let a, _): return type(of: a)
        case .convert(_, let t): return t
        case .vectorLoad(_, _, let n), .stridedLoad(_, _, let n, _), .splat(_, let n): return ScalarType.vector(n) ?? .f32
        case .swapLanes(let x, _): return type(of: x)
        case .lane: return .f32
        }
    }

    mutating func vectorize(_ body: [Stmt]) throws -> [Stmt] {
        Self.droppingOverwrittenStores(try vectorized(body))
    }

    /// The body without vector stores that a later store to the same element overwrites before
    /// anything reads their buffer (after forwarding, the epilogue's first store of the
    /// contraction's result is one).
    static func droppingOverwrittenStores(_ body: [Stmt]) -> [Stmt] {
        func reads(_ e: Expr, _ buffer: Int) -> Bool {
            var found = false
            _ = LoopRewriting.map(e) { x in
                switch x {
                case .load(let b, _), .vectorLoad(let b, _, _), .stridedLoad(let b, _, _, _): if b == buffer { found = true }
                default: break
                }
                return nil
            }
            return found
        }
        var kept: [Stmt] = []
        for (i, s) in body.enumerated() {
            if case .vectorStore(let buffer, let index, _) = s {
                var overwritten = false
                for later in body[(i + 1)...] {
                    if case .vectorStore(buffer, index, let value) = later { overwritten = !reads(value, buffer); break }
                    if case .bind(_, let e) = later, reads(e, buffer) { break }
                    if case .vectorStore(_, let otherIndex, let value) = later, reads(value, buffer) || reads(otherIndex, buffer) { break }
                }
                if overwritten { continue }
            }
            kept.append(s)
        }
        return kept
    }

    private mutating func vectorized(_ body: [Stmt]) throws -> [Stmt] {
        try body.map { s in
            switch s {
            case .bind(let id, let e):
                if type(of: e) == .f32 {
                    let v = try vector(e)
                    vectors.insert(id)
                    varying.insert(id)
                    return .bind(id, v)
                }
                if type(of: e) == .i1, let m = try? mask(e) {
                    masks.insert(id)
                    varying.insert(id)
                    return .bind(id, m)
                }
                if LoopRewriting.mentions(e, variable, varying) {
                    throw ScheduleError("v\(id) is a \(type(of: e).rawValue) that varies with the loop: only f32 values have vector form")
                }
                return s
            case .store(let buffer, let index, let value):
                guard kernel.buffers.indices.contains(buffer), kernel.buffers[buffer].type == .f32 else {
                    throw ScheduleError("store to a non-f32 buffer %\(buffer)")
                }
                guard LoopRewriting.coefficient(of: variable, in: index, varying: varying) == 1 else {
                    throw ScheduleError("store to %\(buffer) is not contiguous in v\(variable)")
                }
                let v = try vector(value)
                // Another index of the same buffer may alias this one: forget what was stored there.
                stored[buffer] = [index: v]
                return .vectorStore(buffer: buffer, index: index, value: v)
            case .assign(let local, let e):
                // Recognised again here: the body was split since, so its x has changed.
                guard let (vector, _) = accumulators[local], let a = Schedule.Accumulation.recognise(local, e) else {
                    throw ScheduleError("the loop body assigns v\(local) (only binds, stores and reductions vectorize)")
                }
                return .assign(vector, a.combine(.value(vector), try self.vector(a.x)))
            case .loop, .declare, .when, .fail, .gemm, .vectorStore, .prefetch:
                throw ScheduleError("the loop body holds control flow, locals or prefetches (only binds and stores vectorize)")
            }
        }
    }

    /// The lane-mask form of the i1 expression `e`: comparisons of f32 values, and/or of masks.
    private func mask(_ e: Expr) throws -> Expr {
        switch e {
        case .compare(let c, let a, let b) where type(of: a) == .f32: return .compare(c, try vector(a), try vector(b))
        case .value(let n) where masks.contains(n): return e
        case .unary(.isNaN, let x) where type(of: x) == .f32: return .unary(.isNaN, try vector(x))
        case .unary(.not, let m): return .unary(.not, try mask(m))
        case .binary(let op, let a, let b) where op == .and || op == .or: return .binary(op, try mask(a), try mask(b))
        default: throw ScheduleError("\(LoopPrinter.print(e)) has no mask form")
        }
    }

    /// The vector form of the f32 expression `e`.
    private func vector(_ e: Expr) throws -> Expr {
        switch e {
        case .f32: return .splat(e, lanes: lanes)
        case .value(let n):
            if vectors.contains(n) { return e }
            guard types[n] == .f32, !varying.contains(n) else { throw ScheduleError("v\(n) has no vector form") }
            return .splat(e, lanes: lanes)
        case .load(let buffer, let index):
            guard kernel.buffers.indices.contains(buffer), kernel.buffers[buffer].type == .f32 else {
                throw ScheduleError("load from a non-f32 buffer %\(buffer)")
            }
            switch LoopRewriting.coefficient(of: variable, in: index, varying: varying) {
            case 0: return .splat(e, lanes: lanes)
            case 1: return stored[buffer]?[index] ?? .vectorLoad(buffer: buffer, index: index, lanes: lanes)
            // Every other element (a stride-2 window's): two vectors, their even lanes.
            case 2: return .stridedLoad(buffer: buffer, index: index, lanes: lanes, stride: 2)
            default: throw ScheduleError("load from %\(buffer) is neither contiguous, every other element, nor invariant in v\(variable)")
            }
        case .unary(let op, let x):
            switch op {
            // The JIT's math library has each of these on whole vectors, lane for lane the
            // same operations as on one element.
            case .neg, .abs, .sqrt, .exp, .expm1, .log, .log1p, .tanh, .sigmoid, .floor: return .unary(op, try vector(x))
            case .cos, .isNaN, .not:
                throw ScheduleError("\(op.rawValue) has no vector form")
            }
        case .binary(let op, let a, let b):
            switch op {
            case .add, .sub, .mul, .div, .addReassoc, .maxNaN, .minNaN: return .binary(op, try vector(a), try vector(b))
            case .rem, .pow, .and, .or: throw ScheduleError("\(op.rawValue) has no vector form")
            }
        case .fma(let a, let b, let c): return .fma(try vector(a), try vector(b), try vector(c))
        case .select(let c, let a, let b): return .select(try mask(c), try vector(a), try vector(b))
        case .i64, .i32, .bool, .loopVar, .compare, .convert, .random, .vectorLoad, .stridedLoad, .splat, .swapLanes, .lane:
            throw ScheduleError("\(LoopPrinter.print(e)) has no vector form")
        }
    }
}
