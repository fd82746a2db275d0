/// Vectorising a reduction: TVM's `rfactor` followed by `vectorize`. An ordered loop whose only
/// dependence between iterations is accumulations `acc := combine(acc, x)` (a sum, a max, a
/// min) runs on vectors: each lane accumulates every lanes-th element into a vector
/// accumulator, the lanes are combined by a tree of lane swaps after the loop, and a peeled
/// tail continues on the scalar accumulator. A row of 49 (attention's softmax) becomes 3
/// vector iterations, 4 swaps and 1 scalar step instead of 49 scalar steps, with its `exp` on
/// vectors. The combine is reassociated, so only combines that allow it are recognised: the
/// `add_reassoc` sum, and max/min written as `select(compare(x, acc), x, acc)`.
extension Schedule {
    /// A recognised accumulation `local := combine(local, x)`.
    struct Accumulation {
        let local: Int
        /// What a lane that has seen nothing holds: combining it changes nothing.
        let identity: Float
        /// combine(accumulated, next), for scalars or vectors alike.
        let combine: (Expr, Expr) -> Expr
        let x: Expr

        /// `e` as an accumulation into `local`, or nil when it is not one this can reassociate.
        static func recognise(_ local: Int, _ e: Expr) -> Accumulation? {
            let acc = Expr.value(local)
            func free(_ x: Expr) -> Bool { !LoopRewriting.mentions(x, -1, [local]) }
            switch e {
            case .binary(.addReassoc, acc, let x) where free(x), .binary(.addReassoc, let x, acc) where free(x):
                // −0 + y = y for every y (+0 + −0 would be +0).
                return Accumulation(local: local, identity: -0.0, combine: { .binary(.addReassoc, $0, $1) }, x: x)
            case .select(let condition, let x, acc) where free(x):
                guard let identity = extremeIdentity(condition, x, acc) else { return nil }
                // The same select on other operands: x → next, acc → accumulated.
                let combine = { (a: Expr, y: Expr) -> Expr in
                    let c = LoopRewriting.map(condition) { $0 == x ? y : $0 == acc ? a : nil }
                    return .select(c, y, a)
                }
                return Accumulation(local: local, identity: identity, combine: combine, x: x)
            default:
                return nil
            }
        }

        /// −∞ for a max (take x when x ≥ or > acc, or also when x is NaN), +∞ for a min.
        private static func extremeIdentity(_ condition: Expr, _ x: Expr, _ acc: Expr) -> Float? {
            switch condition {
            case .compare(.ge, x, acc), .compare(.gt, x, acc): return -.infinity
            case .compare(.le, x, acc), .compare(.lt, x, acc): return .infinity
            case .binary(.or, let c, .unary(.isNaN, x)): return extremeIdentity(c, x, acc)
            default: return nil
            }
        }
    }

    /// Vectorises the ordered innermost loop `v` (at least `lanes` iterations) whose
    /// statements are binds, stores contiguous in `v`, and accumulations into f32 locals
    /// declared outside it, each read by nothing else in the loop. A buffer the loop stores
    /// may be loaded only at the element just stored (an earlier iteration's store must not
    /// feed a later one). The accumulators become vectors starting at their identity.
    public mutating func vectorizeReduction(_ v: Int, lanes: Int) throws {
        let l = try loop(v)
        guard let vectorType = ScalarType.vector(lanes) else { throw ScheduleError("no target has \(lanes)-lane f32 vectors") }
        guard l.kind == .serial, l.axis == .ordered else {
            throw ScheduleError("v\(v) is \(l.kind.rawValue) \(l.axis.rawValue), not a serial ordered loop")
        }
        guard l.extent >= lanes else { throw ScheduleError("v\(v) has \(l.extent) iterations, fewer than \(lanes)") }
        guard !Stmt.containLoop(l.body) else { throw ScheduleError("v\(v) is not innermost") }
        let accumulations = try Self.accumulations(in: l.body, declaredF32: Self.f32Locals(kernel.body))
        guard !accumulations.isEmpty else { throw ScheduleError("v\(v) accumulates nothing (vectorize a data-parallel loop instead)") }
        try Self.checkStoresFeedNothing(l.body, v)

        var attempt = self
        if l.extent % lanes != 0 { try attempt.peel(v, multipleOf: lanes) }
        let (outer, inner) = try attempt.split(v, factor: lanes)
        var vectorizer = Vectorizer(kernel: attempt.kernel, variable: inner, lanes: lanes)
        var vectors: [Int] = []
        for a in accumulations {
            let vector = attempt.fresh()
            vectors.append(vector)
            vectorizer.accumulators[a.local] = (vector, a.identity)
        }
        let body = try vectorizer.vectorize(try attempt.loop(inner).body)
        try attempt.replace(inner) { _ in [.loop(Loop(variable: inner, extent: lanes, axis: .ordered, kind: .vectorized, body: body))] }
        // Before the loop: the vector accumulators; after it: each folded into its scalar.
        var before: [Stmt] = [], after: [Stmt] = []
        for (a, vector) in zip(accumulations, vectors) {
            before.append(.declare(vector, vectorType, .splat(.f32(a.identity), lanes: lanes)))
            var folded = Expr.value(vector)
            var distance = lanes / 2
            while distance >= 1 {
                let step = attempt.fresh()
                after.append(.bind(step, a.combine(folded, .swapLanes(folded, distance: distance))))
                folded = .value(step)
                distance /= 2
            }
            after.append(.assign(a.local, a.combine(.value(a.local), .lane(folded, 0))))
        }
        try attempt.replace(outer) { o in before + [.loop(o)] + after }
        attempt.log.append("vectorize reduction v\(inner) by \(lanes)")
        self = attempt
    }

    private static func accumulations(in body: [Stmt], declaredF32: Set<Int>) throws -> [Accumulation] {
        var found: [Accumulation] = []
        for s in body {
            guard case .assign(let local, let e) = s else { continue }
            guard declaredF32.contains(local) else { throw ScheduleError("v\(local) is not an f32 local") }
            guard !found.contains(where: { $0.local == local }) else { throw ScheduleError("v\(local) is assigned twice") }
            guard let a = Accumulation.recognise(local, e) else {
                throw ScheduleError("v\(local) := \(LoopPrinter.print(e)) is not a sum, max or min this can reassociate")
            }
            found.append(a)
        }
        // Each accumulator is read by its own accumulation only.
        for a in found {
            for s in body {
                if case .assign(a.local, _) = s { continue }
                if Self.expressions(s).contains(where: { LoopRewriting.mentions($0, -1, [a.local]) }) {
                    throw ScheduleError("v\(a.local) is read inside the loop it accumulates in")
                }
            }
        }
        return found
    }

    /// Stores in an ordered loop may feed later iterations; vectorising is legal only when
    /// every load of a stored buffer reads the element the same iteration stores.
    private static func checkStoresFeedNothing(_ body: [Stmt], _ v: Int) throws {
        var stored: [Int: Expr] = [:]
        for case .store(let buffer, let index, _) in body {
            if let other = stored[buffer], other != index { throw ScheduleError("v\(v) stores %\(buffer) at two indices") }
            stored[buffer] = index
        }
        for e in body.flatMap(expressions) {
            var bad: Int?
            _ = LoopRewriting.map(e) { node in
                if case .load(let buffer, let index) = node, let at = stored[buffer], at != index { bad = buffer }
                return nil
            }
            if let bad { throw ScheduleError("v\(v) loads %\(bad) where another iteration stores it") }
        }
    }

    private static func expressions(_ s: Stmt) -> [Expr] {
        switch s {
        case .bind(_, let e), .declare(_, _, let e), .assign(_, let e): return [e]
        case .store(_, let index, let value), .vectorStore(_, let index, let value): return [index, value]
        case .when(let c, let then, let otherwise): return [c] + (then + otherwise).flatMap(expressions)
        case .fail(_, let a, let b): return [a, b]
        case .prefetch(_, let index): return [index]
        case .loop(let l): return l.body.flatMap(expressions)
        case .gemm: return []
        }
    }

    private static func f32Locals(_ stmts: [Stmt]) -> Set<Int> {
        var found = Set<Int>()
        for s in stmts {
            switch s {
            case .declare(let id, .f32, _): found.insert(id)
            case .loop(let l): found.formUnion(f32Locals(l.body))
            case .when(_, let then, let otherwise): found.formUnion(f32Locals(then)); found.formUnion(f32Locals(otherwise))
            case .declare, .bind, .assign, .store, .fail, .gemm, .vectorStore, .prefetch: break
            }
        }
        return found
    }
}
