import KilnIR

/// How a kernel reads element `index` of a reduction's input: a load, or the elementwise
/// producers fused into the reduction computed on the spot (statements, then the value).
typealias ElementSource = (inout KernelBuilder, _ index: [Expr], _ flat: Expr) -> (stmts: [Stmt], value: Expr)

/// Reductions over any axes, as row kernels: each output's accumulator in a register when the
/// reduced axes are innermost, or the outputs accumulated in place along a contiguous kept
/// last axis (a bias gradient: sum over the batch of [N, C]), so the inner loop vectorises.
enum ReductionLowering {
    static func reduce(_ b: inout KernelBuilder, _ op: OpKind, input: Shape, dtype: DType, axes: [Int],
                       out: Int, source: ElementSource) -> [Stmt] {
        let reduced = Set(axes)
        let isFloat = dtype == .f32
        let count = axes.reduce(1) { $0 * input[$1] }
        let identity: Expr = op == .reduce_max ? (isFloat ? .f32(-.infinity) : .i32(.min)) : (isFloat ? .f32(0) : .i32(0))
        func combine(_ acc: Expr, _ x: Expr) -> Expr {
            if op == .reduce_max {
                let take = isFloat ? x.compare(.gt, acc).or(.unary(.isNaN, x)) : x.compare(.gt, acc)
                return .select(take, x, acc)
            }
            return isFloat ? .binary(.addReassoc, acc, x) : .binary(.add, acc, x)
        }
        // Output strides over the input's axes (0 on reduced axes).
        var outStrides = [Int](repeating: 0, count: input.rank)
        var running = 1
        for axis in stride(from: input.rank - 1, through: 0, by: -1) where !reduced.contains(axis) {
            outStrides[axis] = running
            running *= input[axis]
        }
        let outCount = running
        let scale: Float? = op == .reduce_mean ? 1 / Float(count) : nil
        let inStrides = input.strides
        let lastKept = input.rank > 0 && !reduced.contains(input.rank - 1)

        if !lastKept || input.rank == 0 {
            // Kept axes outside, reduced axes inside: one accumulator per output.
            let kept = (0..<input.rank).filter { !reduced.contains($0) }
            let sorted = axes.sorted()
            return b.loop(outCount, .dataParallel) { b, o in
                var index = [Expr](repeating: .i64(0), count: input.rank)
                var rest = o
                for axis in kept.reversed() {
                    index[axis] = rest.rem(input[axis])
                    rest = rest.div(input[axis])
                }
                let acc = b.fresh()
                func nest(_ b: inout KernelBuilder, _ k: Int, _ index: [Expr]) -> [Stmt] {
                    if k == sorted.count {
                        let (stmts, value) = source(&b, index, .linear(index, inStrides))
                        return stmts + [.assign(acc, combine(.value(acc), value))]
                    }
                    return b.loop(input[sorted[k]], .ordered) { b, v in
                        var next = index
                        next[sorted[k]] = v
                        return nest(&b, k + 1, next)
                    }
                }
                var result = Expr.value(acc)
                if let scale { result = .binary(.mul, result, .f32(scale)) }
                return [.declare(acc, ScalarType(dtype), identity)] + nest(&b, 0, index) + [.store(buffer: out, index: o, value: result)]
            }
        }

        // The last axis is kept: initialise the outputs, then sweep the input in order.
        let initial = b.loop(outCount, .dataParallel) { _, o in [.store(buffer: out, index: o, value: identity)] }
        func nest(_ b: inout KernelBuilder, _ axis: Int, _ index: [Expr]) -> [Stmt] {
            if axis == input.rank {
                let (stmts, value) = source(&b, index, .linear(index, inStrides))
                let target = Expr.linear(index, outStrides)
                return stmts + [.store(buffer: out, index: target, value: combine(.load(buffer: out, index: target), value))]
            }
            // Threads may split the first axis only if it is kept (disjoint outputs); the last
            // (kept) axis is independent per iteration.
            let parallel = !reduced.contains(axis) && (axis == 0 || axis == input.rank - 1)
            return b.loop(input[axis], parallel ? .dataParallel : .ordered) { b, v in nest(&b, axis + 1, index + [v]) }
        }
        var stmts = initial + nest(&b, 0, [])
        if let scale {
            stmts += b.loop(outCount, .dataParallel) { _, o in
                [.store(buffer: out, index: o, value: .binary(.mul, .load(buffer: out, index: o), .f32(scale)))]
            }
        }
        return stmts
    }

    /// softmax / log_softmax along `axis`: max, then the sum of exponentials, then the row.
    static func softmax(_ b: inout KernelBuilder, _ x: Int, shape: Shape, axis: Int, log: Bool, out: Int) -> [Stmt] {
        let (outer, extent, inner) = LayoutLowering.split(shape, axis: axis)
        return b.loop(outer * inner, .dataParallel) { b, o in
            let base = o.div(inner).mul(extent * inner).plus(o.rem(inner))
            func at(_ r: Expr) -> Expr { base.plus(r.mul(inner)) }
            let (m, sum) = (b.fresh(), b.fresh())
            var stmts: [Stmt] = [.declare(m, .f32, .f32(-.infinity))]
            stmts += b.loop(extent, .ordered) { _, r in
                let v = Expr.load(buffer: x, index: at(r))
                return [.assign(m, .select(v.compare(.ge, .value(m)), v, .value(m)))]
            }
            stmts.append(.assign(m, .select(Expr.value(m).compare(.eq, .f32(-.infinity)), .f32(0), .value(m))))
            stmts.append(.declare(sum, .f32, .f32(0)))
            if log {
                stmts += b.loop(extent, .ordered) { _, r in
                    [.assign(sum, .binary(.addReassoc, .value(sum), .unary(.exp, .binary(.sub, .load(buffer: x, index: at(r)), .value(m)))))]
                }
                let lse = b.fresh()
                stmts.append(.bind(lse, .binary(.add, .value(m), .unary(.log, .value(sum)))))
                stmts += b.loop(extent, .dataParallel) { _, r in
                    [.store(buffer: out, index: at(r), value: .binary(.sub, .load(buffer: x, index: at(r)), .value(lse)))]
                }
            } else {
                stmts += b.loop(extent, .ordered) { b, r in
                    let e = b.fresh()
                    return [.bind(e, .unary(.exp, .binary(.sub, .load(buffer: x, index: at(r)), .value(m)))),
                            .store(buffer: out, index: at(r), value: .value(e)),
                            .assign(sum, .binary(.addReassoc, .value(sum), .value(e)))]
                }
                let inv = b.fresh()
                stmts.append(.bind(inv, .binary(.div, .f32(1), .value(sum))))
                stmts += b.loop(extent, .dataParallel) { _, r in
                    [.store(buffer: out, index: at(r), value: .binary(.mul, .load(buffer: out, index: at(r)), .value(inv)))]
                }
            }
            return stmts
        }
    }
}
