import KilnIR

/// Data movement as index maps: each output element names the input element it copies.
/// Loads are always in bounds (padding selects a clamped load away), so the loops vectorise.
enum LayoutLowering {
    static func transpose(_ b: inout KernelBuilder, _ x: Int, _ xType: TensorType, perm: [Int], out: Int, _ outType: TensorType) -> [Stmt] {
        let strides = xType.shape.strides
        return b.forEachElement(of: outType.shape) { _, index, flat in
            // Output axis k walks input axis perm[k].
            let source = Expr.linear(index, perm.map { strides[$0] })
            return [.store(buffer: out, index: flat, value: .load(buffer: x, index: source))]
        }
    }

    static func copy(_ b: inout KernelBuilder, _ x: Int, out: Int, _ type: TensorType) -> [Stmt] {
        b.forEachElement(of: type.shape) { _, _, flat in [.store(buffer: out, index: flat, value: .load(buffer: x, index: flat))] }
    }

    static func slice(_ b: inout KernelBuilder, _ x: Int, _ xType: TensorType, begin: [Int], out: Int, _ outType: TensorType) -> [Stmt] {
        let strides = xType.shape.strides
        return b.forEachElement(of: outType.shape) { _, index, flat in
            let source = Expr.linear(zip(index, begin).map { $0.plus($1) }, strides)
            return [.store(buffer: out, index: flat, value: .load(buffer: x, index: source))]
        }
    }

    static func pad(_ b: inout KernelBuilder, _ x: Int, _ xType: TensorType, before: [Int], out: Int, _ outType: TensorType) -> [Stmt] {
        let strides = xType.shape.strides, dims = xType.shape.dims
        let zero: Expr = xType.dtype == .f32 ? .f32(0) : .i32(0)
        return b.forEachElement(of: outType.shape) { _, index, flat in
            var inside = Expr.bool(true)
            var source: [Expr] = []
            for axis in index.indices {
                let i = index[axis].minus(.i64(before[axis]))
                // Only the sides that are padded need a check (and a clamped load).
                let low = before[axis] > 0, high = outType.shape[axis] > before[axis] + dims[axis]
                if low { inside = inside.and(i.compare(.ge, .i64(0))) }
                if high { inside = inside.and(i.compare(.lt, .i64(dims[axis]))) }
                source.append(low || high ? clamp(i, dims[axis]) : i)
            }
            let value = Expr.select(inside, .load(buffer: x, index: .linear(source, strides)), zero)
            return [.store(buffer: out, index: flat, value: value)]
        }
    }

    /// Each operand copied into its block of the output.
    static func concat(_ b: inout KernelBuilder, _ xs: [(Int, TensorType)], axis: Int, out: Int, _ outType: TensorType) -> [Stmt] {
        let outStrides = outType.shape.strides
        var start = 0
        var stmts: [Stmt] = []
        for (x, type) in xs {
            let offset = start
            stmts += b.forEachElement(of: type.shape) { _, index, flat in
                var target = index
                target[axis] = target[axis].plus(offset)
                return [.store(buffer: out, index: .linear(target, outStrides), value: .load(buffer: x, index: flat))]
            }
            start += type.shape[axis]
        }
        return stmts
    }

    /// out[i, …] = table[indices[i], …]; an index outside the table stops the step.
    static func gather(_ b: inout KernelBuilder, table: Int, _ tableType: TensorType, indices: Int, count: Int, out: Int) -> [Stmt] {
        let rows = tableType.shape[0], width = tableType.shape.elementCount / Swift.max(rows, 1)
        let code = b.failure("gather: index {0} is out of range for a table of \(rows) rows")
        return b.loop(count, .dataParallel) { b, i in
            let (read, idx) = checkedIndex(&b, indices, at: i, rows: rows, failure: code)
            return read + b.loop(width, .dataParallel) { _, j in
                    [.store(buffer: out, index: i.mul(width).plus(j), value: .load(buffer: table, index: idx.mul(width).plus(j)))]
                }
        }
    }

    /// Reads indices[i] as an i64 and stops the step with `failure` unless it is in [0, rows).
    private static func checkedIndex(_ b: inout KernelBuilder, _ indices: Int, at i: Expr, rows: Int, failure: Int) -> (stmts: [Stmt], index: Expr) {
        let index = b.fresh()
        let idx = Expr.value(index)
        return ([.bind(index, .convert(.load(buffer: indices, index: i), .i64)),
                 .when(idx.compare(.lt, .i64(0)).or(idx.compare(.ge, .i64(rows))), then: [.fail(code: failure, idx, i)], otherwise: [])],
                idx)
    }

    /// Scatter-add, the adjoint of gather: rows may repeat, so the outer loop runs in order.
    static func gatherGrad(_ b: inout KernelBuilder, dy: Int, indices: Int, count: Int, out: Int, _ outType: TensorType) -> [Stmt] {
        let rows = outType.shape[0], width = outType.shape.elementCount / Swift.max(rows, 1)
        let code = b.failure("gather_grad: index {0} is out of range for \(rows) rows")
        let zero = b.forEachElement(of: outType.shape) { _, _, flat in [.store(buffer: out, index: flat, value: .f32(0))] }
        return zero + b.loop(count, .ordered) { b, i in
            let (read, idx) = checkedIndex(&b, indices, at: i, rows: rows, failure: code)
            return read + b.loop(width, .dataParallel) { _, j in
                    let target = idx.mul(width).plus(j)
                    return [.store(buffer: out, index: target,
                                   value: .binary(.add, .load(buffer: out, index: target), .load(buffer: dy, index: i.mul(width).plus(j))))]
                }
        }
    }

    /// Rows of an identity matrix; an index outside [0, depth) gives a row of zeros.
    static func oneHot(_ b: inout KernelBuilder, indices: Int, count: Int, depth: Int, out: Int) -> [Stmt] {
        b.loop(count, .dataParallel) { b, i in
            let index = b.fresh()
            return [.bind(index, .convert(.load(buffer: indices, index: i), .i64))]
                + b.loop(depth, .dataParallel) { _, j in
                    [.store(buffer: out, index: i.mul(depth).plus(j),
                            value: .select(Expr.value(index).compare(.eq, j), .f32(1), .f32(0)))]
                }
        }
    }

    /// The index of the first maximum along `axis`.
    static func argmax(_ b: inout KernelBuilder, _ x: Int, _ xType: TensorType, axis: Int, out: Int) -> [Stmt] {
        let (outer, extent, inner) = split(xType.shape, axis: axis)
        return b.loop(outer * inner, .dataParallel) { b, o in
            let base = o.div(inner).mul(extent * inner).plus(o.rem(inner))
            let best = b.fresh(), bestValue = b.fresh()
            let t = ScalarType(xType.dtype)
            let scan = b.loop(extent, .ordered) { _, r in
                let v = Expr.load(buffer: x, index: base.plus(r.mul(inner)))
                let better = v.compare(.gt, .value(bestValue))
                return [.assign(best, .select(better, r, .value(best))),
                        .assign(bestValue, .select(better, v, .value(bestValue)))]
            }
            return [.declare(best, .i64, .i64(0)), .declare(bestValue, t, .load(buffer: x, index: base))] + scan
                + [.store(buffer: out, index: o, value: .convert(.value(best), .i32))]
        }
    }

    /// An index-map leaf of a fused kernel at output position `index`: its operand (in memory)
    /// at the mapped position — transpose permutes, slice offsets, pad selects a clamped load
    /// away outside the box, reshape keeps the flat position.
    static func mappedLoad(_ map: IndexMap, _ node: Node, buffer: Int, source: TensorType, index: [Expr], flat: Expr) -> Expr {
        let strides = source.shape.strides, dims = source.shape.dims
        let attrs = node.attributes
        switch map {
        case .transpose:
            let perm = attrs.ints("perm")
            var at = [Expr](repeating: .i64(0), count: index.count)
            for (k, axis) in perm.enumerated() where k < index.count && axis < at.count { at[axis] = index[k] }
            return .load(buffer: buffer, index: .linear(at, strides))
        case .slice:
            let begin = attrs.ints("begin")
            return .load(buffer: buffer, index: .linear(zip(index, begin).map { $0.plus($1) }, strides))
        case .pad:
            let before = attrs.ints("before"), after = attrs.ints("after")
            var inside = Expr.bool(true)
            var at: [Expr] = []
            for axis in index.indices {
                let i = index[axis].minus(.i64(before[axis]))
                let low = before[axis] > 0, high = after[axis] > 0
                if low { inside = inside.and(i.compare(.ge, .i64(0))) }
                if high { inside = inside.and(i.compare(.lt, .i64(dims[axis]))) }
                at.append(low || high ? clamp(i, dims[axis]) : i)
            }
            return .select(inside, .load(buffer: buffer, index: .linear(at, strides)), source.dtype == .f32 ? .f32(0) : .i32(0))
        case .reshape:
            return .load(buffer: buffer, index: flat)
        }
    }

    /// `min(max(i, 0), n − 1)`: a load address that is always valid.
    static func clamp(_ i: Expr, _ n: Int) -> Expr {
        if case .i64(let c) = i { return .i64(Swift.min(Swift.max(c, 0), n - 1)) }
        return .select(i.compare(.lt, .i64(0)), .i64(0), .select(i.compare(.gt, .i64(n - 1)), .i64(n - 1), i))
    }

    /// A shape around one axis as (outer, extent, inner).
    static func split(_ shape: Shape, axis: Int) -> (Int, Int, Int) {
        (shape.dims[..<axis].reduce(1, *), shape[axis], shape.dims[(axis + 1)...].reduce(1, *))
    }
}
