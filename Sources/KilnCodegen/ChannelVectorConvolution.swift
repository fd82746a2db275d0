import Glibc
import KilnIR

/// Direct convolution with *output channels* along the vector lanes (the register tile of
/// MLAS's and oneDNN's NCHWc kernels, on NCHW activations): a tile is `mr` output positions ×
/// `nr` filters; each reduction step loads `nr / lanes` vectors of a packed filter panel and
/// broadcasts one input element per position from the zero-bordered phase planes. Every
/// position a tile computes is a result (any `mr` consecutive positions of the batch, across
/// row ends and images: each position's plane offset is worked out once per tile), where
/// `DirectConvolution`, vectorised along the output row, computes the KW − 1 columns between
/// rows and pads each image to whole tiles — a 7×7 map with a 3×3 filter fills 49 of 64
/// outputs that way. The filter is packed once per call into panels of `nr` filters,
/// [panel][c][i][j][nr] (an invariant call, skipped while the params do not change).
/// Partial sums over channel blocks go to a position-major scratch; the last block's tile is
/// stored into NCHW element by element, with the fused epilogue.
enum ChannelVectorConvolution {
    /// `KILN_CONV_CHANNELS=on` takes every convolution this kernel can do, `off` none
    /// (side-by-side benchmarks); otherwise `prefers` decides.
    nonisolated(unsafe) static var mode = getenv("KILN_CONV_CHANNELS").map { String(cString: $0) } ?? "auto"

    /// Position tiles of a work unit, and the units: one filter panel per unit and as many
    /// position tiles as leave `16 · threads` units (the panel's slice of the filter stays in
    /// L2 while the unit's positions stream past it).
    struct Plan {
        let planes: PhasePlanes
        let tiling: GemmTiling
        let positions: Int
        var tiles: Int { (positions + tiling.mr - 1) / tiling.mr }
        var panels: Int
        var tilesPerUnit: Int
        var positionBlocks: Int { (tiles + tilesPerUnit - 1) / tilesPerUnit }
        var units: Int { panels * positionBlocks }
    }

    static func plan(_ g: WindowGeometry, outChannels o: Int, target: CodegenTarget) -> Plan? {
        guard mode != "off", g.kh * g.kw > 1, o > 0 else { return nil }
        let positions = g.n * g.spatial
        let t = GemmTiling.choose(m: positions, n: o, k: g.patch, target: target)
        guard t.isLegal, positions > 0 else { return nil }
        let panels = (o + t.nr - 1) / t.nr, tiles = (positions + t.mr - 1) / t.mr
        var perUnit = tiles
        while panels * ((tiles + perUnit - 1) / perUnit) < 16 * target.threads && perUnit > 1 { perUnit = (perUnit + 1) / 2 }
        perUnit = GemmTiling.balanced(tiles, perUnit)
        return Plan(planes: PhasePlanes(g, multipleOf: 1), tiling: t, positions: positions, panels: panels, tilesPerUnit: perUnit)
    }

    /// What storing a finished tile into NCHW costs, in reduction steps of the tile (each step
    /// a few vector multiply-adds; the store is `mr · nr` scalar moves with their offsets and
    /// the epilogue). Fitted round-robin on AVX2 Zen 3 against `DirectConvolution` (batch 8):
    /// the 7×7 stem (147 taps) took 1.8–2.0× its time, 64 → 128 channels at stride 2 on 56×56
    /// (576 taps) 1.07–1.1×, 128 → 256 at stride 2 on 28×28 0.81–0.91×, 256 → 512 at stride 2
    /// on 14×14 0.64–0.75×, and 512 → 512 on 7×7 0.80–0.87×.
    static let storeSteps = 128

    /// Whether this kernel should take a convolution `DirectConvolution` could also do: when
    /// it computes fewer outputs (the channel-vector tile wastes only the last tile's positions
    /// and filters, the row-vector tile the columns between rows and each image's last tile)
    /// by more than its dearer stores cost; where the direct kernel does not apply, against
    /// im2col and the GEMM.
    static func prefers(_ p: Plan, over direct: (planes: PhasePlanes, tiling: GemmTiling)?, _ g: WindowGeometry, outChannels o: Int) -> Bool {
        if mode == "on" { return true }
        let mine = Double(p.tiles * p.tiling.mr) * Double(p.panels * p.tiling.nr) * Double(g.patch + storeSteps)
        guard let direct else {
            // Against im2col and the GEMM: its padded tiles, and each column element written
            // (`DirectConvolution.im2colElementFlops`, two flops a multiply-add).
            let t = p.tiling, columns = g.n * g.spatial
            let gemm = Double((o + t.mr - 1) / t.mr * t.mr) * Double((columns + t.nr - 1) / t.nr * t.nr) * Double(g.patch)
            return mine < gemm + Double(g.patch * columns * DirectConvolution.im2colElementFlops / 2)
        }
        let theirs = Double(g.n * direct.planes.flat) * Double((o + direct.tiling.mr - 1) / direct.tiling.mr * direct.tiling.mr) * Double(g.patch)
        return mine < theirs
    }

    static func kernels(_ b: inout KernelBuilder, x: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel]? {
        guard let p = plan(g, outChannels: o, target: b.target),
              prefers(p, over: DirectConvolution.plan(g, outChannels: o, target: b.target), g, outChannels: o) else { return nil }
        let t = p.tiling, planes = p.planes
        let source = b.scratch(.f32, count: g.n * g.c * planes.phases * planes.planeSize)
        let split = planes.split(&b, x, g, into: source)
        let filters = b.scratch(.f32, count: p.panels * g.patch * t.nr)
        let pack = b.loop(p.panels * g.patch, .dataParallel) { b, row in
            let panel = row.div(g.patch), tap = row.rem(g.patch)
            return b.loop(t.nr, .dataParallel) { _, c in
                let oc = panel.mul(t.nr).plus(c)
                let value: Expr = o % t.nr == 0 ? .load(buffer: w, index: oc.mul(g.patch).plus(tap))
                    : .select(oc.compare(.lt, .i64(o)), .load(buffer: w, index: LayoutLowering.clamp(oc, o).mul(g.patch).plus(tap)), .f32(0))
                return [.store(buffer: filters, index: row.mul(t.nr).plus(c), value: value)]
            }
        }
        let paddedChannels = p.panels * t.nr
        let partial = b.scratch(.f32, count: p.tiles * t.mr * paddedChannels)
        let rowsPerChannel = planes.phases * ((g.kh + g.sh - 1) / g.sh)
        // One channel's filter slice of the panel and its input rows under one tile.
        let reduction = ChannelBlocks(channels: g.c, bytesPerChannel: 4 * (g.kh * g.kw * t.nr + rowsPerChannel * (t.mr * g.sw + 16)),
                                      target: b.target)
        let epilogue = b.tileEpilogue
        b.tileEpilogue = nil
        let body = b.loop(p.units, .dataParallel) { b, unit in
            let panel = unit.div(p.positionBlocks), block = unit.rem(p.positionBlocks)
            return reduction.emitMarkingLast(&b) { b, first, count, accumulate, last in
                b.loop(p.tilesPerUnit, .ordered) { b, ir in
                    let tile = block.mul(p.tilesPerUnit).plus(ir)
                    let kernel = microKernel(&b, source: source, filters: filters, g, p, outChannels: o, partial: partial, tile: tile, panel: panel,
                                             channels: (first, count), accumulate: accumulate, last: last, out: out, epilogue: epilogue)
                    // The last block may be short: its missing tiles would run past the partial sums.
                    return p.tiles % p.tilesPerUnit == 0 ? kernel : [.when(tile.compare(.lt, .i64(p.tiles)), then: kernel, otherwise: [])]
                }
            }
        }
        let flops = 2 * g.n * o * g.spatial * g.patch
        return [b.kernel(split, work: g.n * g.c * planes.phases * planes.planeSize, suffix: "_phases"),
                b.kernel(pack, work: p.panels * g.patch * t.nr, suffix: "_filters"),
                b.kernel(body, work: 2 * p.tiles * t.mr * paddedChannels * g.patch, flops: flops, suffix: "_cdirect\(t)")]
    }

    private static func microKernel(_ b: inout KernelBuilder, source: Int, filters: Int, _ g: WindowGeometry, _ p: Plan, outChannels o: Int,
                                    partial: Int, tile: Expr, panel: Expr, channels block: (first: Expr, count: Int),
                                    accumulate: Bool, last: Bool, out: Int, epilogue: TileEpilogue?) -> [Stmt] {
        let t = p.tiling, planes = p.planes
        var stmts: [Stmt] = []
        func bound(_ e: Expr) -> Expr {
            let v = b.fresh()
            stmts.append(.bind(v, e))
            return .value(v)
        }
        let channelStride = planes.phases * planes.planeSize, imageStride = g.c * channelStride
        // Each position's offset in its image's planes; positions past the last (the last
        // tile's) repeat the last one, computed and never stored.
        let bases = (0..<t.mr).map { r -> Expr in
            let raw = tile.mul(t.mr).plus(r)
            let position = bound(p.positions % t.mr == 0 ? raw : .select(raw.compare(.lt, .i64(p.positions)), raw, .i64(p.positions - 1)))
            let s = position.rem(g.spatial)
            return bound(position.div(g.spatial).mul(imageStride).plus(s.div(g.ow).mul(planes.wq)).plus(s.rem(g.ow)))
        }
        let tileRegisters = RegisterTile(&b, t, into: &stmts)
        stmts += b.loop(block.count, .ordered) { b, q in
            let ci = block.first.plus(q)
            let channel = ci.mul(channelStride), row = panel.mul(g.c).plus(ci).mul(g.kh * g.kw)
            return planes.taps(&b, g, writtenOut: true) { b, offset, tap in
                let at = channel.plus(offset), filter = row.plus(tap).mul(t.nr)
                return tileRegisters.step(&b, a: source, aIndex: { r in bases[r].plus(at) },
                                          b: filters, bIndex: { v in filter.plus(v * t.lanes) })
            }
        }
        let paddedChannels = p.panels * t.nr
        let partialIndex = { (r: Expr, c: Expr) -> Expr in tile.mul(t.mr).plus(r).mul(paddedChannels).plus(panel.mul(t.nr)).plus(c) }
        stmts += tileRegisters.storeWhole(partial, accumulate: accumulate) { r, v in partialIndex(.i64(r), .i64(v * t.lanes)) }
        guard last else { return stmts }
        // The finished tile into NCHW, position by position (its offsets worked out once), each
        // position's filters from the partial row.
        for r in 0..<t.mr {
            var store: [Stmt] = []
            let position = tile.mul(t.mr).plus(r)
            let nv = b.fresh(), sv = b.fresh()
            store += [.bind(nv, position.div(g.spatial)), .bind(sv, position.rem(g.spatial))]
            let n = Expr.value(nv), spatial = Expr.value(sv)
            let (oy, ox) = (spatial.div(g.ow), spatial.rem(g.ow))
            store += b.loop(t.nr, .ordered) { b, c in
                let oc = panel.mul(t.nr).plus(c), flat = n.mul(o).plus(oc).mul(g.spatial).plus(spatial)
                let element: [Stmt] = [.store(buffer: out, index: flat, value: .load(buffer: partial, index: partialIndex(.i64(r), c)))]
                    + (epilogue?.element(&b, index: [n, oc, oy, ox], flat: flat) ?? [])
                return o % t.nr == 0 ? element : [.when(oc.compare(.lt, .i64(o)), then: element, otherwise: [])]
            }
            stmts += p.positions % t.mr == 0 ? store : [.when(position.compare(.lt, .i64(p.positions)), then: store, otherwise: [])]
        }
        return stmts
    }
}
