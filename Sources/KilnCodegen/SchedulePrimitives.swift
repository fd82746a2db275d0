/// Why a schedule primitive refused a loop.
public struct ScheduleError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A kernel being scheduled: loop-IR → loop-IR transforms, each of which checks it is legal
/// before it changes anything (TVM's schedule primitives, tinygrad's OptOps). A loop's kind is
/// set here and nowhere else; `log` records what was applied, for `kiln dump --loops`.
public struct Schedule {
    public private(set) var kernel: LoopKernel
    public internal(set) var log: [String] = []
    private var next: Int

    public init(_ kernel: LoopKernel) {
        self.kernel = kernel
        next = LoopRewriting.largestVariable(kernel.body)
    }

    mutating func fresh() -> Int {
        next += 1
        return next
    }

    func loop(_ v: Int) throws -> Loop {
        var found: Loop?
        func visit(_ stmts: [Stmt]) {
            for s in stmts where found == nil {
                switch s {
                case .loop(let l): if l.variable == v { found = l } else { visit(l.body) }
                case .when(_, let then, let otherwise): visit(then); visit(otherwise)
                case .bind, .declare, .assign, .store, .fail, .gemm, .vectorStore, .prefetch: break
                }
            }
        }
        visit(kernel.body)
        guard let found else { throw ScheduleError("\(kernel.name) has no loop v\(v)") }
        return found
    }

    mutating func replace(_ v: Int, _ transform: (Loop) throws -> [Stmt]) throws {
        guard let body = try LoopRewriting.replacingLoop(v, in: kernel.body, transform) else {
            throw ScheduleError("\(kernel.name) has no loop v\(v)")
        }
        kernel.body = body
    }

    /// Splits loop `v` across threads. Legal for the kernel's only top-level statement, when
    /// it is a serial data-parallel loop: the caller hands each thread a range of it.
    public mutating func parallelize(_ v: Int) throws {
        guard kernel.body.count == 1, case .loop(let l) = kernel.body[0], l.variable == v else {
            throw ScheduleError("v\(v) is not the only outermost loop of \(kernel.name)")
        }
        guard l.axis == .dataParallel else { throw ScheduleError("v\(v) is ordered: its iterations cannot run on several threads") }
        guard l.kind == .serial else { throw ScheduleError("v\(v) is already \(l.kind.rawValue)") }
        kernel.body = [.loop(Loop(variable: l.variable, extent: l.extent, axis: l.axis, kind: .parallel, body: l.body))]
        log.append("parallel v\(v)")
    }

    /// Splits loop `v` into an outer loop of `extent / factor` iterations around an inner loop
    /// of `factor`; v = outer·factor + inner. Legal for any serial loop whose extent `factor`
    /// divides (a remainder would need a second loop). Returns (outer, inner).
    @discardableResult
    public mutating func split(_ v: Int, factor: Int) throws -> (outer: Int, inner: Int) {
        let l = try loop(v)
        guard factor > 0, l.extent % factor == 0 else { throw ScheduleError("v\(v)'s extent \(l.extent) is not a multiple of \(factor)") }
        guard l.kind == .serial else { throw ScheduleError("v\(v) is already \(l.kind.rawValue)") }
        let (outer, inner) = (fresh(), fresh())
        let index = Expr.loopVar(outer).mul(factor).plus(.loopVar(inner))
        let body = LoopRewriting.rewrite(l.body) { LoopRewriting.substitute($0, v, index) }
        try replace(v) { _ in
            [.loop(Loop(variable: outer, extent: l.extent / factor, axis: l.axis,
                        body: [.loop(Loop(variable: inner, extent: factor, axis: l.axis, body: body))]))]
        }
        log.append("split v\(v) by \(factor) -> v\(outer), v\(inner)")
        return (outer, inner)
    }

    /// Splits off loop `v`'s last `extent mod factor` iterations into a second loop after it,
    /// so `v` keeps a multiple of `factor` iterations (for `split` and `vectorize`) and the tail
    /// runs scalar. Legal for any serial loop of at least `factor` iterations that `factor` does
    /// not divide: the iterations still run in order. Returns the tail loop's variable.
    @discardableResult
    public mutating func peel(_ v: Int, multipleOf factor: Int) throws -> Int {
        let l = try loop(v)
        guard factor > 1, l.extent > factor, l.extent % factor != 0 else {
            throw ScheduleError("v\(v)'s extent \(l.extent) leaves no tail after a multiple of \(factor)")
        }
        guard l.kind == .serial else { throw ScheduleError("v\(v) is already \(l.kind.rawValue)") }
        let main = l.extent / factor * factor
        let tail = fresh()
        let copy = LoopRewriting.rewrite(l.body) { LoopRewriting.substitute($0, v, Expr.loopVar(tail).plus(main)) }
        let tailBody = LoopRewriting.renumbered(copy, next: &next)
        try replace(v) { _ in
            [.loop(Loop(variable: v, extent: main, axis: l.axis, body: l.body)),
             .loop(Loop(variable: tail, extent: l.extent - main, axis: l.axis, body: tailBody))]
        }
        log.append("peel v\(v) after \(main) -> v\(tail)")
        return tail
    }

    /// Repeats loop `v`'s body `factor` times per iteration (v = u·factor + r for each r).
    /// Legal for any serial loop whose extent `factor` divides: the copies run in order.
    public mutating func unroll(_ v: Int, factor: Int) throws {
        let l = try loop(v)
        guard factor > 1, l.extent % factor == 0 else { throw ScheduleError("v\(v)'s extent \(l.extent) is not a multiple of \(factor)") }
        guard l.kind == .serial else { throw ScheduleError("v\(v) is already \(l.kind.rawValue)") }
        let u = fresh()
        var body: [Stmt] = []
        for r in 0..<factor {
            let copy = LoopRewriting.rewrite(l.body) { LoopRewriting.substitute($0, v, Expr.loopVar(u).mul(factor).plus(r)) }
            body += r == 0 ? copy : LoopRewriting.renumbered(copy, next: &next)
        }
        try replace(v) { _ in [.loop(Loop(variable: u, extent: l.extent / factor, axis: l.axis, kind: .unrolled, body: body))] }
        log.append("unroll v\(v) by \(factor) -> v\(u)")
    }

    /// Turns loop `v`, of at most `lanes` iterations, into one iteration on vectors: loads whose
    /// index advances by one element per iteration become vector loads, loads that do not move
    /// become broadcasts, f32 arithmetic becomes vector arithmetic, stores become vector stores.
    /// A loop of fewer iterations than `lanes` (a peeled tail, a row of 14) is *masked*: its
    /// loads and stores touch only the lanes of its iterations (the backend renders them as
    /// masked vector memory operations), the other lanes compute on zeros and are dropped.
    /// Legal when the loop is serial, data-parallel and innermost, holds only binds and stores,
    /// stores contiguously, and computes only what has a vector form (`Vectorizer`).
    public mutating func vectorize(_ v: Int, lanes: Int) throws {
        let l = try loop(v)
        guard ScalarType.vector(lanes) != nil else { throw ScheduleError("no target has \(lanes)-lane f32 vectors") }
        guard l.extent >= 1, l.extent <= lanes else { throw ScheduleError("v\(v) has \(l.extent) iterations, more than \(lanes) (split it first)") }
        guard l.kind == .serial, l.axis == .dataParallel else { throw ScheduleError("v\(v) is \(l.kind.rawValue) \(l.axis.rawValue), not serial data-parallel") }
        var vectorizer = Vectorizer(kernel: kernel, variable: v, lanes: lanes)
        let body = try vectorizer.vectorize(l.body)
        try replace(v) { _ in [.loop(Loop(variable: v, extent: l.extent, axis: .dataParallel, kind: .vectorized, body: body))] }
        log.append("vectorize v\(v) by \(lanes)" + (l.extent < lanes ? " masked to \(l.extent)" : ""))
    }
}
