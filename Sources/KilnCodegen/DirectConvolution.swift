import Glibc
import KilnIR

/// Convolution without im2col, for filters wider than 1×1 (LIBXSMM's and oneDNN's direct
/// convolutions, on NCHW). The input is copied once into zero-bordered *phase planes* (stride²
/// of them: phase (py, px) holds the bordered input's rows py, py + sh, … and columns px,
/// px + sw, …; one phase at stride 1), each `wq` = OW + (KW − 1) / sw wide. An output position
/// (oy, ox) is then the flat index f = oy·wq + ox, and tap (i, j) reads its phase at f plus a
/// constant — so a register tile is `mr` output channels × `nr` consecutive *flat* outputs,
/// running across row ends (14×14 and 7×7 maps fill the tile as well as 56×56 ones), and it
/// reduces over (input channel, filter row, filter column) with vector loads straight from the
/// planes, strided convolutions included. Tiles land whole in a flat result (channels padded to
/// whole tiles); a second kernel copies it into NCHW, dropping the KW − 1 columns per row that
/// fall between rows, with the fused epilogue. 1×1 convolutions stay with the GEMM.
enum DirectConvolution {
    /// From this share of useful outputs (row ends and the last tile's padding), always direct.
    static let minimumFill = 0.75
    /// An element im2col writes costs about as much as this many flops of the product (a
    /// scattered store against 16-lane FMAs): with few filters to share the columns, direct
    /// convolution pays at lower fills — fill ≥ O / (O + 16), e.g. 50% for LeNet's 16 filters.
    static let im2colElementFlops = 32

    /// Off with `KILN_CONV=im2col` (side-by-side benchmarks).
    nonisolated(unsafe) static var enabled = getenv("KILN_CONV").map { String(cString: $0) } != "im2col"

    /// A 3-vector tile row's speed relative to a 2-vector one, per computed output, on a target
    /// with 32 vector registers (8×48: 24 accumulators, 11 loads per 24 FMAs; 8×32: 16, 10 per
    /// 16). Measured round-robin against 8×32 on ResNet-18's convolutions (AVX-512, 2 threads):
    /// 0.89–0.95 of the time where both compute the same outputs (56×56, 28×28, the 7×7 stem).
    static let threeVectorSpeed = 1.08

    /// The phase planes and register tiling when direct convolution applies to `g` with `o`
    /// filters on `target`, else nil (1×1 filters, too many wasted outputs, no legal tiling).
    /// Tile rows are 2 vectors wide, or 3 where the target has the registers and the wider
    /// panels' extra padding (outputs past the last row: a 7×7 map's 63 flat outputs fill 64
    /// but only 63 of 96) costs less than the faster tile saves.
    static func plan(_ g: WindowGeometry, outChannels o: Int, target: CodegenTarget) -> (planes: PhasePlanes, tiling: GemmTiling)? {
        guard enabled, g.kh * g.kw > 1, o > 0 else { return nil }
        var best: (planes: PhasePlanes, tiling: GemmTiling, time: Double)?
        for vectors in target.vectorRegisters >= 32 ? [2, 3] : [2] {
            let width = vectors * target.vectorLanes, planes = PhasePlanes(g, multipleOf: width)
            let fill = planes.fill(g)
            guard fill >= minimumFill || fill * Double(o + im2colElementFlops / 2) >= Double(o) else { continue }
            let panels = g.n * (planes.flat / width)
            let t = GemmTiling.choose(m: o, n: panels * width, k: g.patch, target: target, vectorsPerRow: vectors)
            guard t.isLegal, t.mr * vectors >= 16 || vectors == 2 else { continue }
            let computed = Double((o + t.mr - 1) / t.mr * t.mr * planes.flat), time = computed / (vectors == 3 ? threeVectorSpeed : 1)
            if best.map({ time < $0.time }) ?? true { best = (planes, t, time) }
        }
        return best.map { ($0.planes, $0.tiling) }
    }

    static func kernels(_ b: inout KernelBuilder, x: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel]? {
        guard let (planes, t) = plan(g, outChannels: o, target: b.target) else { return nil }
        let blocks = planes.flat / t.nr, panels = g.n * blocks
        let source = b.scratch(.f32, count: g.n * g.c * planes.phases * planes.planeSize)
        let split = planes.split(&b, x, g, into: source)
        let tiles = (o + t.mr - 1) / t.mr, paddedChannels = tiles * t.mr
        let result = b.scratch(.f32, count: g.n * paddedChannels * planes.flat)
        // One channel's input rows (each a tile row plus the filter's overhang, rounded to lines) and filter taps.
        let rowsPerChannel = planes.phases * ((g.kh + g.sh - 1) / g.sh)
        let reduction = ChannelBlocks(channels: g.c, bytesPerChannel: 4 * (rowsPerChannel * (t.nr + 16) + t.mr * g.kh * g.kw), target: b.target)
        let rowBlocks = (tiles + t.tilesPerBlock - 1) / t.tilesPerBlock, columnBlocks = (panels + t.panelsPerBlock - 1) / t.panelsPerBlock
        let body = b.loop(rowBlocks * columnBlocks, .dataParallel) { b, unit in
            let rowBlock = unit.div(columnBlocks), columnBlock = unit.rem(columnBlocks)
            return b.loop(t.panelsPerBlock, .ordered) { b, jr in
                let q = columnBlock.mul(t.panelsPerBlock).plus(jr)
                let inner = reduction.emit(&b) { b, first, count, accumulate in
                    b.loop(t.tilesPerBlock, .ordered) { b, ir in
                        let tile = rowBlock.mul(t.tilesPerBlock).plus(ir)
                        let kernel = t.rowTile(&b, rows: o, tile: tile) { b, tiling, firstRow in
                            microKernel(&b, source: source, w: w, g, planes, outChannels: o, paddedChannels: paddedChannels, result: result,
                                        tiling, firstRow: firstRow, panel: q, channels: (first, count), accumulate: accumulate)
                        }
                        return tiles % t.tilesPerBlock == 0 ? kernel : [.when(tile.compare(.lt, .i64(tiles)), then: kernel, otherwise: [])]
                    }
                }
                return panels % t.panelsPerBlock == 0 ? inner : [.when(q.compare(.lt, .i64(panels)), then: inner, otherwise: [])]
            }
        }
        let epilogue = b.tileEpilogue
        b.tileEpilogue = nil
        let copy = b.loop(g.n * o, .dataParallel) { b, plane in
            let n = plane.div(o), oc = plane.rem(o)
            let from = n.mul(paddedChannels).plus(oc).mul(planes.flat)
            let target = { (oy: Expr, ox: Expr) -> Expr in plane.mul(g.spatial).plus(oy.mul(g.ow)).plus(ox) }
            // One pass: the epilogue reads the element just stored (forwarded in registers).
            return b.loop(g.oh, .ordered) { b, oy in
                b.loop(g.ow, .dataParallel) { b, ox in
                    let copy = Stmt.store(buffer: out, index: target(oy, ox), value: .load(buffer: result, index: from.plus(oy.mul(planes.wq)).plus(ox)))
                    return [copy] + (epilogue?.element(&b, index: [n, oc, oy, ox], flat: target(oy, ox)) ?? [])
                }
            }
        }
        let flops = 2 * g.n * o * g.spatial * g.patch
        return [b.kernel(split, work: g.n * g.c * planes.phases * planes.planeSize, suffix: "_phases"),
                b.kernel(body, work: 2 * g.n * paddedChannels * planes.flat * g.patch, flops: flops, suffix: "_direct\(t)"),
                b.kernel(copy, work: g.n * o * g.spatial, suffix: "_unflatten")]
    }

    private static func microKernel(_ b: inout KernelBuilder, source: Int, w: Int, _ g: WindowGeometry, _ planes: PhasePlanes,
                                    outChannels o: Int, paddedChannels: Int, result: Int, _ t: GemmTiling,
                                    firstRow: Expr, panel q: Expr, channels block: (first: Expr, count: Int), accumulate: Bool) -> [Stmt] {
        var stmts: [Stmt] = []
        func bound(_ e: Expr) -> Expr {
            let v = b.fresh()
            stmts.append(.bind(v, e))
            return .value(v)
        }
        let o0 = bound(firstRow)
        let blocks = planes.flat / t.nr
        let n = bound(q.div(blocks)), f0 = bound(q.rem(blocks).mul(t.nr))
        // The last tile has only the channels left (a tile of its own), so every row is a filter.
        let filters = (0..<t.mr).map { r in bound(o0.plus(r).mul(g.patch)) }
        let tileRegisters = RegisterTile(&b, t, into: &stmts)
        stmts += b.loop(block.count, .ordered) { b, q in
            let ci = block.first.plus(q)
            let channelPlanes = n.mul(g.c).plus(ci).mul(planes.phases).mul(planes.planeSize).plus(f0)
            let filterTaps = ci.mul(g.kh * g.kw)
            // Written out at stride 2 (LLVM spilled with a run-time filter row); at stride 1 the
            // row loop ran as fast (64 → 64 on 56×56: 0.94–1.01) and compiles a third of the code.
            return planes.taps(&b, g, writtenOut: g.sh > 1 || g.sw > 1) { b, offset, tap in
                let start = channelPlanes.plus(offset)
                return tileRegisters.step(&b, a: w, aIndex: { r in filters[r].plus(filterTaps).plus(tap) },
                                          b: source, bIndex: { v in start.plus(v * t.lanes) })
            }
        }
        return stmts + tileRegisters.storeWhole(result, accumulate: accumulate) { r, v in
            n.mul(paddedChannels).plus(o0).plus(r).mul(planes.flat).plus(f0).plus(v * t.lanes)
        }
    }
}
