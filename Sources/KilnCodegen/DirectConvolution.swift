import Glibc
import KilnIR

/// Convolution of stride 1 without im2col: the input is copied once into a buffer with zero
/// borders (every tap then reads in bounds, rows padded to whole register tiles), and each
/// register tile — `mr` output channels × `nr` consecutive outputs of one output row — reduces
/// over (input channel, filter row, filter column) with vector loads straight from the bordered
/// input rows (LIBXSMM's and oneDNN's direct convolutions, on NCHW). Output rows too short
/// to fill most lanes (7×7 maps), strided and 1×1 convolutions stay with the GEMM.
enum DirectConvolution {
    /// Vectors per tile row for output rows of `width`, when a direct convolution fills at
    /// least 80% of the lanes it computes; nil otherwise. Only two-vector tiles: a one-vector
    /// tile loads as many scalars as it multiplies and lost to im2col + GEMM on ResNet-18's
    /// 14×14 maps (measured single-threaded: 24.8 ms against 19.4 ms per step).
    static func vectorsPerRow(width: Int, lanes: Int) -> Int? {
        let nr = 2 * lanes
        let blocks = (width + nr - 1) / nr
        return 5 * width >= 4 * blocks * nr ? 2 : nil
    }

    /// Off with `KILN_CONV=im2col` (side-by-side benchmarks).
    nonisolated(unsafe) static var enabled = getenv("KILN_CONV").map { String(cString: $0) } != "im2col"

    static func kernels(_ b: inout KernelBuilder, x: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel]? {
        guard enabled, g.sh == 1, g.sw == 1, g.kh * g.kw > 1, let vectors = vectorsPerRow(width: g.ow, lanes: b.target.vectorLanes) else { return nil }
        let t0 = GemmTiling.choose(m: o, n: g.n * g.spatial, k: g.patch, target: b.target, vectorsPerRow: vectors)
        guard t0.isLegal else { return nil }
        let blocksPerRow = (g.ow + t0.nr - 1) / t0.nr
        let panels = g.n * g.oh * blocksPerRow
        // Blocks of panels sized like the GEMM's (the B rows of a panel are the bordered input rows).
        var t = GemmTiling.choose(m: o, n: panels * t0.nr, k: g.patch, target: b.target, vectorsPerRow: vectors)
        t.panelsPerBlock = Swift.max(1, Swift.min(t.panelsPerBlock, panels))
        let (hp, wp) = (g.oh + g.kh - 1, blocksPerRow * t.nr + g.kw - 1)
        let bordered = b.scratch(.f32, count: g.n * g.c * hp * wp)
        let copy = border(&b, x, g, into: bordered, hp: hp, wp: wp)
        let tiles = (o + t.mr - 1) / t.mr
        let rowBlocks = (tiles + t.tilesPerBlock - 1) / t.tilesPerBlock, columnBlocks = (panels + t.panelsPerBlock - 1) / t.panelsPerBlock
        let spill = b.scratch(.f32, count: rowBlocks * columnBlocks * t.mr * t.nr)
        let body = b.loop(rowBlocks * columnBlocks, .dataParallel) { b, unit in
            let rowBlock = unit.div(columnBlocks), columnBlock = unit.rem(columnBlocks)
            return b.loop(t.panelsPerBlock, .ordered) { b, jr in
                let q = columnBlock.mul(t.panelsPerBlock).plus(jr)
                let inner = b.loop(t.tilesPerBlock, .ordered) { b, ir in
                    let tile = rowBlock.mul(t.tilesPerBlock).plus(ir)
                    let kernel = microKernel(&b, x: bordered, w: w, g, outChannels: o, out: out, t, tile: tile, panel: q,
                                             blocksPerRow: blocksPerRow, hp: hp, wp: wp, spill: unit.mul(t.mr * t.nr), scratch: spill)
                    return tiles % t.tilesPerBlock == 0 ? kernel : [.when(tile.compare(.lt, .i64(tiles)), then: kernel, otherwise: [])]
                }
                return panels % t.panelsPerBlock == 0 ? inner : [.when(q.compare(.lt, .i64(panels)), then: inner, otherwise: [])]
            }
        }
        b.tileEpilogue = nil
        return [b.kernel(copy, work: g.n * g.c * hp * wp, suffix: "_border"),
                b.kernel(body, work: 2 * g.n * o * g.spatial * g.patch, flops: 2 * g.n * o * g.spatial * g.patch, suffix: "_direct\(t)")]
    }

    /// bordered[n, c, y, x] = x[n, c, y − ph, x − pw], 0 outside.
    static func border(_ b: inout KernelBuilder, _ x: Int, _ g: WindowGeometry, into bordered: Int, hp: Int, wp: Int) -> [Stmt] {
        b.loop(g.n * g.c, .dataParallel) { b, plane in
            b.loop(hp, .ordered) { b, y in
                b.loop(wp, .dataParallel) { _, xx in
                    let (sy, sx) = (y.minus(.i64(g.ph)), xx.minus(.i64(g.pw)))
                    let inside = sy.compare(.ge, .i64(0)).and(sy.compare(.lt, .i64(g.h))).and(sx.compare(.ge, .i64(0))).and(sx.compare(.lt, .i64(g.w)))
                    let source = plane.mul(g.h * g.w).plus(LayoutLowering.clamp(sy, g.h).mul(g.w)).plus(LayoutLowering.clamp(sx, g.w))
                    return [.store(buffer: bordered, index: plane.mul(hp).plus(y).mul(wp).plus(xx),
                                   value: .select(inside, .load(buffer: x, index: source), .f32(0)))]
                }
            }
        }
    }

    private static func microKernel(_ b: inout KernelBuilder, x: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int,
                                    _ t: GemmTiling, tile: Expr, panel q: Expr, blocksPerRow: Int, hp: Int, wp: Int,
                                    spill: Expr, scratch: Int) -> [Stmt] {
        var stmts: [Stmt] = []
        func bound(_ e: Expr) -> Expr {
            let v = b.fresh()
            stmts.append(.bind(v, e))
            return .value(v)
        }
        let o0 = bound(tile.mul(t.mr))
        let xb = bound(q.rem(blocksPerRow)), row = bound(q.div(blocksPerRow))
        let oy = bound(row.rem(g.oh)), n = bound(row.div(g.oh))
        let ox0 = bound(xb.mul(t.nr))
        // Channels past o read channel o − 1 (in bounds); their results are never stored.
        let channels: [Expr] = (0..<t.mr).map { r in
            o % t.mr == 0 ? o0.plus(r) : bound(.select(o0.plus(r).compare(.lt, .i64(o)), o0.plus(r), .i64(o - 1)))
        }
        let filters = channels.map { bound($0.mul(g.patch)) }
        let tileRegisters = RegisterTile(&b, t, into: &stmts)
        stmts += b.loop(g.c, .ordered) { b, ci in
            b.loop(g.kh, .ordered) { b, i in
                let inputRow = n.mul(g.c).plus(ci).mul(hp).plus(oy).plus(i).mul(wp).plus(ox0)
                let tap = ci.mul(g.kh).plus(i).mul(g.kw)
                var taps: [Stmt] = []
                // The filter row's taps, written out: a few multiply-add steps on shifted rows.
                for j in 0..<g.kw {
                    taps += tileRegisters.step(&b, a: w, aIndex: { r in filters[r].plus(tap).plus(j) },
                                               b: x, bIndex: { v in inputRow.plus(j + v * t.lanes) })
                }
                return taps
            }
        }
        let target = { (r: Int, column: Expr) -> Expr in n.mul(o).plus(o0).plus(r).mul(g.oh).plus(oy).mul(g.ow).plus(ox0).plus(column) }
        var whole = tileRegisters.storeWhole(out, accumulate: false) { r, v in target(r, .i64(v * t.lanes)) }
        let epilogue = b.tileEpilogue
        if let epilogue {
            whole += epilogue.tile(&b, rows: t.mr, columns: t.nr, inside: nil) { r, c in ([n, o0.plus(r), oy, ox0.plus(c)], target(0, .i64(0)).plus(r.mul(g.spatial)).plus(c)) }
        }
        let rowsInside = o % t.mr == 0, columnsInside = g.ow % t.nr == 0
        if rowsInside && columnsInside { return stmts + whole }
        var inside = Expr.bool(true)
        if !rowsInside { inside = inside.and(o0.plus(t.mr).compare(.le, .i64(o))) }
        if !columnsInside { inside = inside.and(ox0.plus(t.nr).compare(.le, .i64(g.ow))) }
        let element = { (r: Expr, c: Expr) -> (index: Expr, inside: Expr) in
            let channel = o0.plus(r)
            let index = n.mul(o).plus(channel).mul(g.oh).plus(oy).mul(g.ow).plus(ox0).plus(c)
            return (index, channel.compare(.lt, .i64(o)).and(ox0.plus(c).compare(.lt, .i64(g.ow))))
        }
        var spilled = tileRegisters.storeSpilled(&b, out, accumulate: false, scratch: scratch, spill: spill, target: element)
        if let epilogue {
            spilled += epilogue.tile(&b, rows: t.mr, columns: t.nr, inside: { element($0, $1).inside }) { r, c in
                ([n, o0.plus(r), oy, ox0.plus(c)], element(r, c).index)
            }
        }
        return stmts + [.when(inside, then: whole, otherwise: spilled)]
    }
}
