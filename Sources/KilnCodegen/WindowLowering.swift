import KilnIR

/// The code generator's use of a window: static tap ranges and clamped tap addresses.
extension WindowGeometry {
    /// The outputs ox whose tap j lands inside the image (0 ≤ ox·sw + j − pw < w), as
    /// (first, count): static, so the loop over them needs no bounds checks.
    func columns(tap j: Int) -> (first: Int, count: Int) {
        var first = 0, last = ow - 1
        while first <= last && first * sw + j - pw < 0 { first += 1 }
        while last >= first && last * sw + j - pw >= w { last -= 1 }
        return (first, Swift.max(0, last - first + 1))
    }

    /// Input row/column of window tap (i, j) at output (oy, ox), whether it lies inside the
    /// image, and the plane-relative input offset clamped to a valid address.
    func tap(oy: Expr, ox: Expr, i: Expr, j: Expr) -> (inside: Expr, offset: Expr) {
        let y = oy.mul(sh).plus(i).minus(.i64(ph)), x = ox.mul(sw).plus(j).minus(.i64(pw))
        let inside = y.compare(.ge, .i64(0)).and(y.compare(.lt, .i64(h))).and(x.compare(.ge, .i64(0))).and(x.compare(.lt, .i64(w)))
        return (inside, LayoutLowering.clamp(y, h).mul(w).plus(LayoutLowering.clamp(x, w)))
    }
}

/// Pooling and its adjoints as direct loops. Max pooling treats padding as −∞ and routes a
/// gradient to the first maximum of its window (NaN wins); average pooling divides by the
/// full window area. Planes are independent, so they are split across threads.
enum PoolingLowering {
    private static func forEachOutput(_ b: inout KernelBuilder, _ g: WindowGeometry, _ body: (inout KernelBuilder, Expr, Expr, Expr, Expr) -> [Stmt]) -> [Stmt] {
        b.loop(g.n * g.c, .dataParallel) { b, plane in
            b.loop(g.oh, .ordered) { b, oy in
                b.loop(g.ow, .ordered) { b, ox in
                    body(&b, plane, oy, ox, plane.mul(g.spatial).plus(oy.mul(g.ow)).plus(ox))
                }
            }
        }
    }

    /// Max and average pooling forward, row by row: each output row is initialised, then every
    /// window tap folds a (strided) input row into it, the innermost loop running along the row
    /// so it vectorises. Max: a tap wins when greater, or NaN over a non-NaN (the first maximum's
    /// value, as the interpreter keeps); average: the in-image taps summed in tap order, divided
    /// by the full window area.
    private static func rowPool(_ b: inout KernelBuilder, _ x: Int, _ g: WindowGeometry, out: Int, max: Bool) -> [Stmt] {
        b.loop(g.n * g.c, .dataParallel) { b, plane in
            b.loop(g.oh, .ordered) { b, oy in
                let row = plane.mul(g.spatial).plus(oy.mul(g.ow))
                let initial: Expr = max ? .f32(-.infinity) : .f32(0)
                let start = b.loop(g.ow, .dataParallel) { _, ox in [.store(buffer: out, index: row.plus(ox), value: initial)] }
                let taps = b.loop(g.kh, .ordered) { b, i in
                    let y = oy.mul(g.sh).plus(i).minus(.i64(g.ph))
                    let rowInside = y.compare(.ge, .i64(0)).and(y.compare(.lt, .i64(g.h)))
                    let inputRow = plane.mul(g.h * g.w).plus(LayoutLowering.clamp(y, g.h).mul(g.w))
                    // Taps unrolled: each covers a static range of the row (padding never wins a max
                    // and adds nothing to a sum), with no bounds checks.
                    var columns: [Stmt] = []
                    for j in 0..<g.kw {
                        let (first, count) = g.columns(tap: j)
                        columns += b.loop(count, .dataParallel) { _, v in
                            let ox = v.plus(first)
                            let target = row.plus(ox)
                            let current = Expr.load(buffer: out, index: target)
                            let v = Expr.load(buffer: x, index: inputRow.plus(ox.mul(g.sw).plus(j - g.pw)))
                            if max {
                                let take = v.compare(.gt, current).or(Expr.unary(.isNaN, v).and(.unary(.not, .unary(.isNaN, current))))
                                return [.store(buffer: out, index: target, value: .select(take, v, current))]
                            }
                            return [.store(buffer: out, index: target, value: .binary(.add, current, v))]
                        }
                    }
                    return [.when(rowInside, then: columns, otherwise: [])]
                }
                let finish = max ? [] : b.loop(g.ow, .dataParallel) { _, ox in
                    [.store(buffer: out, index: row.plus(ox), value: .binary(.div, .load(buffer: out, index: row.plus(ox)), .f32(Float(g.kh * g.kw))))]
                }
                return start + taps + finish
            }
        }
    }

    static func maxPool(_ b: inout KernelBuilder, _ x: Int, _ g: WindowGeometry, out: Int) -> [Stmt] {
        rowPool(&b, x, g, out: out, max: true)
    }

    /// The adjoint of max pooling: per output row, every window's first maximum is found with
    /// the taps outside and the row inside (vectorised, the best value and its position kept in
    /// scratch rows private to the plane), then each output's gradient is added at that position.
    static func maxPoolGrad(_ b: inout KernelBuilder, _ x: Int, dy: Int, _ g: WindowGeometry, out: Int) -> [Stmt] {
        let best = b.scratch(.f32, count: g.n * g.c * g.ow), where_ = b.scratch(.i32, count: g.n * g.c * g.ow)
        return b.loop(g.n * g.c, .dataParallel) { b, plane in
            b.loop(g.oh, .ordered) { b, oy in
                let scratchRow = plane.mul(g.ow)
                let start = b.loop(g.ow, .dataParallel) { _, ox in
                    [.store(buffer: best, index: scratchRow.plus(ox), value: .f32(-.infinity)),
                     .store(buffer: where_, index: scratchRow.plus(ox), value: .i32(-1))]
                }
                let taps = b.loop(g.kh, .ordered) { b, i in
                    let y = oy.mul(g.sh).plus(i).minus(.i64(g.ph))
                    let rowInside = y.compare(.ge, .i64(0)).and(y.compare(.lt, .i64(g.h)))
                    let columns = b.loop(g.kw, .ordered) { b, j in
                        b.loop(g.ow, .dataParallel) { b, ox in
                            let xx = ox.mul(g.sw).plus(j).minus(.i64(g.pw))
                            let inside = xx.compare(.ge, .i64(0)).and(xx.compare(.lt, .i64(g.w)))
                            let offset = LayoutLowering.clamp(y, g.h).mul(g.w).plus(LayoutLowering.clamp(xx, g.w))
                            // Read both running values before either is rewritten.
                            let (v, bv, bi, take) = (b.fresh(), b.fresh(), b.fresh(), b.fresh())
                            let better = Expr.value(bi).compare(.lt, .i32(0)).or(Expr.value(v).compare(.gt, .value(bv)))
                                .or(Expr.unary(.isNaN, .value(v)).and(.unary(.not, .unary(.isNaN, .value(bv)))))
                            return [.bind(v, .load(buffer: x, index: plane.mul(g.h * g.w).plus(offset))),
                                    .bind(bv, .load(buffer: best, index: scratchRow.plus(ox))),
                                    .bind(bi, .load(buffer: where_, index: scratchRow.plus(ox))),
                                    .bind(take, inside.and(better)),
                                    .store(buffer: best, index: scratchRow.plus(ox), value: .select(.value(take), .value(v), .value(bv))),
                                    .store(buffer: where_, index: scratchRow.plus(ox), value: .select(.value(take), .convert(offset, .i32), .value(bi)))]
                        }
                    }
                    return [.when(rowInside, then: columns, otherwise: [])]
                }
                let route = b.loop(g.ow, .ordered) { b, ox in
                    let position = b.fresh()
                    let target = plane.mul(g.h * g.w).plus(.value(position))
                    let o = plane.mul(g.spatial).plus(oy.mul(g.ow)).plus(ox)
                    let add = Stmt.store(buffer: out, index: target, value: .binary(.add, .load(buffer: out, index: target), .load(buffer: dy, index: o)))
                    return [.bind(position, .convert(.load(buffer: where_, index: scratchRow.plus(ox)), .i64)),
                            .when(Expr.value(position).compare(.ge, .i64(0)), then: [add], otherwise: [])]
                }
                return start + taps + route
            }
        }
    }

    static func avgPool(_ b: inout KernelBuilder, _ x: Int, _ g: WindowGeometry, out: Int) -> [Stmt] {
        rowPool(&b, x, g, out: out, max: false)
    }

    static func avgPoolGrad(_ b: inout KernelBuilder, dy: Int, _ g: WindowGeometry, out: Int) -> [Stmt] {
        forEachOutput(&b, g) { b, plane, oy, ox, o in
            let share = b.fresh()
            let taps = b.loop(g.kh, .ordered) { b, i in
                b.loop(g.kw, .ordered) { _, j in
                    let (inside, offset) = g.tap(oy: oy, ox: ox, i: i, j: j)
                    let target = plane.mul(g.h * g.w).plus(offset)
                    return [.when(inside, then: [.store(buffer: out, index: target, value: .binary(.add, .load(buffer: out, index: target), .value(share)))],
                                  otherwise: [])]
                }
            }
            return [.bind(share, .binary(.div, .load(buffer: dy, index: o), .f32(Float(g.kh * g.kw))))] + taps
        }
    }

    /// Zeroes a buffer of `count` floats (the adjoints accumulate).
    static func zero(_ b: inout KernelBuilder, _ buffer: Int, count: Int) -> [Stmt] {
        b.loop(count, .dataParallel) { _, i in [.store(buffer: buffer, index: i, value: .f32(0))] }
    }
}
