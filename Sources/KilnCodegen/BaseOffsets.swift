/// Moving each graph buffer's constant index offset out of a kernel and into its call.
///
/// Kernels that differ only in where they start reading or writing a buffer — an unrolled
/// LSTM's 28 slices of `x[:, t, :]`, gates cut from one product at different column offsets —
/// are otherwise 28 functions for LLVM to optimise and emit, equal but for one constant. With
/// the smallest constant term of every access to a buffer subtracted from each of them, the
/// kernels are equal (`LoopKernel.anonymous`) and share one function; each call passes the
/// buffer's pointer advanced by that constant. Addresses are unchanged: base + (index − c) is
/// base + index.
public enum BaseOffsets {
    /// `kernel` with the constant part of its graph buffers' indices moved out, and the element
    /// offset of each buffer (0 where nothing moved; scratch buffers never move).
    ///
    /// A buffer moves when every access to it — loads, vector and strided loads, stores, vector
    /// stores, a GEMM operand's offset — has a constant term (outermost additions of an `i64`
    /// literal) and the smallest of them, `c`, is positive and at most the buffer's element
    /// count, so the advanced pointer stays inside the buffer.
    public static func hoisted(_ kernel: LoopKernel) -> (kernel: LoopKernel, offsets: [Int]) {
        var accesses = Accesses(buffers: kernel.buffers.count)
        accesses.visit(kernel.body)
        let (smallest, unsplit) = (accesses.smallest, accesses.unsplit)
        let offsets = kernel.buffers.enumerated().map { i, buffer -> Int in
            guard !buffer.isScratch, buffer.type == .f32 || buffer.type == .i32, !unsplit[i],
                  let c = smallest[i], c > 0, c <= buffer.count else { return 0 }
            return c
        }
        guard offsets.contains(where: { $0 != 0 }) else { return (kernel, offsets) }
        var moved = kernel
        moved.body = shifted(kernel.body, by: offsets)
        return (moved, offsets)
    }

    /// The sum of `e`'s constant terms (`split`'s, without building the rest); nil on overflow.
    static func constantTerm(_ e: Expr) -> Int? {
        switch e {
        case .i64(let c): return c
        case .binary(.add, let a, let b):
            guard let x = constantTerm(a), let y = constantTerm(b) else { return nil }
            let (sum, overflow) = x.addingReportingOverflow(y)
            return overflow ? nil : sum
        case .binary(.sub, let a, .i64(let c)):
            guard let x = constantTerm(a) else { return nil }
            let (difference, overflow) = x.subtractingReportingOverflow(c)
            return overflow ? nil : difference
        default: return 0
        }
    }

    /// `e` as its non-constant terms and the sum of its constant ones (nil: no term left, the
    /// index is a constant); nil when the sum overflows.
    static func split(_ e: Expr) -> (rest: Expr?, constant: Int)? {
        switch e {
        case .i64(let c): return (nil, c)
        case .binary(.add, let a, let b):
            guard let x = split(a), let y = split(b) else { return nil }
            let (sum, overflow) = x.constant.addingReportingOverflow(y.constant)
            guard !overflow else { return nil }
            switch (x.rest, y.rest) {
            case (nil, nil): return (nil, sum)
            case (let r?, nil), (nil, let r?): return (r, sum)
            case (let r?, let s?): return (.binary(.add, r, s), sum)
            }
        case .binary(.sub, let a, .i64(let c)):
            guard let x = split(a) else { return nil }
            let (difference, overflow) = x.constant.subtractingReportingOverflow(c)
            return overflow ? nil : (x.rest, difference)
        default: return (e, 0)
        }
    }

    /// `index` less `c`, its constant terms gathered at the end.
    static func subtracting(_ c: Int, from index: Expr) -> Expr {
        guard c != 0, let (rest, constant) = split(index) else { return index }
        let left = constant - c
        guard let rest else { return .i64(left) }
        return left == 0 ? rest : .binary(.add, rest, .i64(left))
    }

    private static func shifted(_ stmts: [Stmt], by offsets: [Int]) -> [Stmt] {
        func offset(_ b: Int) -> Int { offsets.indices.contains(b) ? offsets[b] : 0 }
        func expr(_ e: Expr) -> Expr {
            LoopRewriting.map(e) { node in
                switch node {
                case .load(let b, let i): return .load(buffer: b, index: subtracting(offset(b), from: expr(i)))
                case .vectorLoad(let b, let i, let lanes): return .vectorLoad(buffer: b, index: subtracting(offset(b), from: expr(i)), lanes: lanes)
                case .stridedLoad(let b, let i, let lanes, let stride):
                    return .stridedLoad(buffer: b, index: subtracting(offset(b), from: expr(i)), lanes: lanes, stride: stride)
                default: return nil
                }
            }
        }
        return stmts.map { s in
            switch s {
            case .loop(var l):
                l.body = shifted(l.body, by: offsets)
                return .loop(l)
            case .bind(let id, let e): return .bind(id, expr(e))
            case .declare(let id, let t, let e): return .declare(id, t, expr(e))
            case .assign(let id, let e): return .assign(id, expr(e))
            case .store(let b, let i, let v): return .store(buffer: b, index: subtracting(offset(b), from: expr(i)), value: expr(v))
            case .vectorStore(let b, let i, let v): return .vectorStore(buffer: b, index: subtracting(offset(b), from: expr(i)), value: expr(v))
            case .prefetch(let b, let i): return .prefetch(buffer: b, index: subtracting(offset(b), from: expr(i)))
            case .when(let c, let then, let otherwise):
                return .when(expr(c), then: shifted(then, by: offsets), otherwise: shifted(otherwise, by: offsets))
            case .fail(let code, let a, let b): return .fail(code: code, expr(a), expr(b))
            case .gemm(var g):
                g.aOffset -= offset(g.a)
                g.bOffset -= offset(g.b)
                g.cOffset -= offset(g.c)
                return .gemm(g)
            }
        }
    }
}

/// The smallest constant term of each buffer's accesses, gathered in one walk (a struct with
/// stored state, not closures: the walk runs over every kernel a step lowers).
private struct Accesses {
    var smallest: [Int?]
    /// Buffers with an access whose constant terms overflow.
    var unsplit: [Bool]

    init(buffers: Int) {
        smallest = [Int?](repeating: nil, count: buffers)
        unsplit = [Bool](repeating: false, count: buffers)
    }

    mutating func note(_ buffer: Int, constant c: Int?) {
        guard smallest.indices.contains(buffer) else { return }
        guard let c else { unsplit[buffer] = true; return }
        smallest[buffer] = Swift.min(smallest[buffer] ?? c, c)
    }

    mutating func visit(_ stmts: [Stmt]) {
        for s in stmts {
            switch s {
            case .loop(let l): visit(l.body)
            case .bind(_, let e), .declare(_, _, let e), .assign(_, let e): visit(e)
            case .store(let b, let i, let v), .vectorStore(let b, let i, let v):
                note(b, constant: BaseOffsets.constantTerm(i))
                visit(i)
                visit(v)
            case .prefetch(let b, let i):
                note(b, constant: BaseOffsets.constantTerm(i))
                visit(i)
            case .when(let c, let then, let otherwise):
                visit(c)
                visit(then)
                visit(otherwise)
            case .fail(_, let a, let b):
                visit(a)
                visit(b)
            case .gemm(let g):
                note(g.a, constant: g.aOffset)
                note(g.b, constant: g.bOffset)
                note(g.c, constant: g.cOffset)
            }
        }
    }

    mutating func visit(_ e: Expr) {
        switch e {
        case .i64, .i32, .f32, .bool, .loopVar, .value: return
        case .load(let b, let i), .vectorLoad(let b, let i, _), .stridedLoad(let b, let i, _, _):
            note(b, constant: BaseOffsets.constantTerm(i))
            visit(i)
        case .unary(_, let x), .convert(let x, _), .random(_, _, let x), .splat(let x, _), .swapLanes(let x, _), .lane(let x, _):
            visit(x)
        case .binary(_, let a, let b), .compare(_, let a, let b):
            visit(a)
            visit(b)
        case .select(let a, let b, let c), .fma(let a, let b, let c):
            visit(a)
            visit(b)
            visit(c)
        }
    }
}
