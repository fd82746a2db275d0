import KilnIR

/// A convolution's input as zero-bordered *phase planes*, for kernels that vectorise along the
/// output without bounds checks or strided loads. Phase (py, px) of a channel holds the bordered
/// input's rows py, py + sh, … and columns px, px + sw, … (one phase at stride 1), each row `wq`
/// = OW + (KW − 1) / sw wide. With outputs numbered flat, f = oy·wq + ox, filter tap (i, j) of
/// output f reads phase (i mod sh, j mod sw) at f + (i / sh)·wq + j / sw: one contiguous run per
/// tap over any range of f, across row ends — the KW − 1 outputs per row that fall between rows
/// (and past the last row) are computed and dropped. Used by the direct and the grouped
/// convolutions.
struct PhasePlanes {
    let sh, sw: Int
    let phases, wq, rows: Int
    /// Flat outputs computed per channel: OH·wq rounded up to a multiple of the tile width.
    let flat: Int

    init(_ g: WindowGeometry, multipleOf width: Int) {
        (sh, sw) = (g.sh, g.sw)
        phases = g.sh * g.sw
        wq = g.ow + (g.kw - 1) / g.sw
        flat = (g.oh * wq + width - 1) / width * width
        // Rows enough for the furthest tap of the last flat output.
        let reach = flat + (g.kh - 1) / g.sh * wq + (g.kw - 1) / g.sw
        rows = (reach + wq - 1) / wq
    }

    /// Elements per phase plane.
    var planeSize: Int { rows * wq }
    /// The share of computed outputs that are results.
    func fill(_ g: WindowGeometry) -> Double { Double(g.oh * g.ow) / Double(flat) }

    /// Offset of tap (i, j) from the flat output index, within one channel's phases.
    func tap(_ i: Int, _ j: Int) -> Int {
        ((i % sh) * sw + j % sw) * planeSize + (i / sh) * wq + j / sw
    }

    /// The same for a filter row i known only at run time.
    func tap(_ i: Expr, _ j: Int) -> Expr {
        i.rem(sh).mul(sw).plus(j % sw).mul(planeSize).plus(i.div(sh).mul(wq)).plus(j / sw)
    }

    /// planes[n, c, phase (py, px), r, column] = x[n, c, r·sh + py − ph, column·sw + px − pw],
    /// 0 outside the input.
    func split(_ b: inout KernelBuilder, _ x: Int, _ g: WindowGeometry, into planes: Int) -> [Stmt] {
        let (phases, rows, width, sw, sh) = (phases, rows, wq, sw, sh)
        return b.loop(g.n * g.c, .dataParallel) { b, plane in
            b.loop(phases, .ordered) { b, phase in
                let py = phase.div(sw), px = phase.rem(sw)
                return b.loop(rows, .ordered) { b, r in
                    b.loop(width, .dataParallel) { _, column in
                        let y = r.mul(sh).plus(py).minus(.i64(g.ph)), xx = column.mul(sw).plus(px).minus(.i64(g.pw))
                        let inside = y.compare(.ge, .i64(0)).and(y.compare(.lt, .i64(g.h))).and(xx.compare(.ge, .i64(0))).and(xx.compare(.lt, .i64(g.w)))
                        let from = plane.mul(g.h * g.w).plus(LayoutLowering.clamp(y, g.h).mul(g.w)).plus(LayoutLowering.clamp(xx, g.w))
                        return [.store(buffer: planes, index: plane.mul(phases).plus(phase).mul(rows * width).plus(r.mul(width)).plus(column),
                                       value: .select(inside, .load(buffer: x, index: from), .f32(0)))]
                    }
                }
            }
        }
    }
}
