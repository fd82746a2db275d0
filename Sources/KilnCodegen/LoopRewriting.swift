/// Tree walks the schedule primitives share: substituting a loop variable, renumbering the
/// values a copied body binds, finding a loop, inferring an expression's type.
enum LoopRewriting {
    /// `e` with loop variable `v` replaced by `replacement`.
    static func substitute(_ e: Expr, _ v: Int, _ replacement: Expr) -> Expr {
        map(e) { if case .loopVar(v) = $0 { return replacement } else { return nil } }
    }

    /// Rebuilds `e` bottom-up, `transform` replacing any node it returns a value for.
    static func map(_ e: Expr, _ transform: (Expr) -> Expr?) -> Expr {
        if let replaced = transform(e) { return replaced }
        switch e {
        case .i64, .i32, .f32, .bool, .loopVar, .value: return e
        case .load(let buffer, let index): return .load(buffer: buffer, index: map(index, transform))
        case .unary(let op, let x): return .unary(op, map(x, transform))
        case .binary(let op, let a, let b): return .binary(op, map(a, transform), map(b, transform))
        case .compare(let c, let a, let b): return .compare(c, map(a, transform), map(b, transform))
        case .select(let c, let a, let b): return .select(map(c, transform), map(a, transform), map(b, transform))
        case .convert(let x, let t): return .convert(map(x, transform), t)
        case .random(let kind, let seed, let index): return .random(kind, seed: seed, index: map(index, transform))
        case .vectorLoad(let buffer, let index, let lanes): return .vectorLoad(buffer: buffer, index: map(index, transform), lanes: lanes)
        case .stridedLoad(let buffer, let index, let lanes, let stride):
            return .stridedLoad(buffer: buffer, index: map(index, transform), lanes: lanes, stride: stride)
        case .splat(let x, let lanes): return .splat(map(x, transform), lanes: lanes)
        case .fma(let a, let b, let c): return .fma(map(a, transform), map(b, transform), map(c, transform))
        case .swapLanes(let x, let distance): return .swapLanes(map(x, transform), distance: distance)
        case .lane(let x, let index): return .lane(map(x, transform), index)
        }
    }

    /// Calls `body` on `e` and every expression inside it, parents first, without rebuilding
    /// anything (`map` copies the tree even when it changes nothing).
    static func forEach(_ e: Expr, _ body: (Expr) -> Void) {
        body(e)
        switch e {
        case .i64, .i32, .f32, .bool, .loopVar, .value: return
        case .load(_, let x), .unary(_, let x), .convert(let x, _), .random(_, _, let x), .vectorLoad(_, let x, _),
             .stridedLoad(_, let x, _, _), .splat(let x, _), .swapLanes(let x, _), .lane(let x, _):
            forEach(x, body)
        case .binary(_, let a, let b), .compare(_, let a, let b):
            forEach(a, body)
            forEach(b, body)
        case .select(let a, let b, let c), .fma(let a, let b, let c):
            forEach(a, body)
            forEach(b, body)
            forEach(c, body)
        }
    }

    /// Every expression and nested statement of `stmts` rewritten by `expr`; loops, binds and
    /// locals renamed through `rename` (identity unless a body is being copied).
    static func rewrite(_ stmts: [Stmt], expr: (Expr) -> Expr, rename: (Int) -> Int = { $0 }) -> [Stmt] {
        stmts.map { s in
            switch s {
            case .loop(var l):
                l.variable = rename(l.variable)
                l.body = rewrite(l.body, expr: expr, rename: rename)
                return .loop(l)
            case .bind(let id, let e): return .bind(rename(id), expr(e))
            case .declare(let id, let t, let e): return .declare(rename(id), t, expr(e))
            case .assign(let id, let e): return .assign(rename(id), expr(e))
            case .store(let buffer, let index, let value): return .store(buffer: buffer, index: expr(index), value: expr(value))
            case .when(let c, let then, let otherwise):
                return .when(expr(c), then: rewrite(then, expr: expr, rename: rename), otherwise: rewrite(otherwise, expr: expr, rename: rename))
            case .fail(let code, let a, let b): return .fail(code: code, expr(a), expr(b))
            case .gemm: return s
            case .vectorStore(let buffer, let index, let value): return .vectorStore(buffer: buffer, index: expr(index), value: expr(value))
            case .prefetch(let buffer, let index): return .prefetch(buffer: buffer, index: expr(index))
            }
        }
    }

    /// `stmts` with every variable it defines (loops, binds, locals) given a fresh number from
    /// `next`, and every use renamed to match: a copy that can sit beside the original.
    static func renumbered(_ stmts: [Stmt], next: inout Int) -> [Stmt] {
        var names: [Int: Int] = [:]
        collectDefinitions(stmts) { id in
            next += 1
            names[id] = next
        }
        let rename = { (id: Int) in names[id] ?? id }
        return rewrite(stmts, expr: { e in
            map(e) { node in
                switch node {
                case .loopVar(let n): return names[n].map { .loopVar($0) }
                case .value(let n): return names[n].map { .value($0) }
                default: return nil
                }
            }
        }, rename: rename)
    }

    static func collectDefinitions(_ stmts: [Stmt], _ found: (Int) -> Void) {
        for s in stmts {
            switch s {
            case .loop(let l): found(l.variable); collectDefinitions(l.body, found)
            case .bind(let id, _), .declare(let id, _, _): found(id)
            case .when(_, let then, let otherwise): collectDefinitions(then, found); collectDefinitions(otherwise, found)
            case .assign, .store, .fail, .gemm, .vectorStore, .prefetch: break
            }
        }
    }

    /// The largest variable number `stmts` defines.
    static func largestVariable(_ stmts: [Stmt]) -> Int {
        var largest = 0
        collectDefinitions(stmts) { largest = Swift.max(largest, $0) }
        return largest
    }

    /// The loop numbered `v` replaced by what `transform` makes of it; nil when there is none.
    static func replacingLoop(_ v: Int, in stmts: [Stmt], _ transform: (Loop) throws -> [Stmt]) rethrows -> [Stmt]? {
        var result: [Stmt] = []
        var found = false
        for s in stmts {
            switch s {
            case .loop(var l) where !found:
                if l.variable == v {
                    result += try transform(l)
                    found = true
                } else if let body = try replacingLoop(v, in: l.body, transform) {
                    l.body = body
                    result.append(.loop(l))
                    found = true
                } else {
                    result.append(s)
                }
            case .when(let c, let then, let otherwise) where !found:
                if let t = try replacingLoop(v, in: then, transform) {
                    result.append(.when(c, then: t, otherwise: otherwise))
                    found = true
                } else if let o = try replacingLoop(v, in: otherwise, transform) {
                    result.append(.when(c, then: then, otherwise: o))
                    found = true
                } else {
                    result.append(s)
                }
            default:
                result.append(s)
            }
        }
        return found ? result : nil
    }

    /// Coefficient of loop variable `v` in the index expression `e`, when `e` is affine in it
    /// (0 when it does not occur); nil when it is not (a division, a remainder, a product of
    /// two variables, a value bound where `v` varies).
    static func coefficient(of v: Int, in e: Expr, varying: Set<Int>) -> Int? {
        switch e {
        case .i64, .i32: return 0
        case .loopVar(let n): return n == v ? 1 : 0
        case .value(let n): return varying.contains(n) ? nil : 0
        case .binary(.add, let a, let b):
            guard let x = coefficient(of: v, in: a, varying: varying), let y = coefficient(of: v, in: b, varying: varying) else { return nil }
            return x + y
        case .binary(.sub, let a, let b):
            guard let x = coefficient(of: v, in: a, varying: varying), let y = coefficient(of: v, in: b, varying: varying) else { return nil }
            return x - y
        case .binary(.mul, let a, .i64(let n)), .binary(.mul, .i64(let n), let a):
            return coefficient(of: v, in: a, varying: varying).map { $0 * n }
        default:
            return mentions(e, v, varying) ? nil : 0
        }
    }

    /// Whether `e` reads loop variable `v` or any of the `varying` values.
    static func mentions(_ e: Expr, _ v: Int, _ varying: Set<Int>) -> Bool {
        var hit = false
        forEach(e) { node in
            switch node {
            case .loopVar(v): hit = true
            case .value(let n) where varying.contains(n): hit = true
            default: break
            }
        }
        return hit
    }
}
