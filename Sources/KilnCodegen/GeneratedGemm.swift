import Glibc
import KilnIR

/// Where a generated GEMM reads A and writes C, as index maps (so a convolution writes NCHW
/// straight from the register tile, and a transposed operand is only other strides).
struct GemmOperands {
    var m: Int, n: Int, k: Int
    /// A(i, p) = a[aOffset + i·aRowStride + p·aColumnStride].
    var a: Int
    var aOffset = 0
    var aRowStride: Int, aColumnStride: Int
    /// C(i, j) = c[cOffset + (j / segment)·segmentStride + i·cRowStride + j % segment]: C's
    /// columns come in segments (images of a batched convolution); a plain product has one.
    var c: Int
    var cOffset = 0
    var cRowStride: Int
    var segment: Int
    var segmentStride = 0
    /// Add into C instead of overwriting it.
    var accumulate = false
    /// Split-k: the k range is cut into this many equal slices, computed as separate work units
    /// (more parallelism for a product with few tiles and a long k: a filter gradient reduces
    /// over the batch's positions); slice s writes its partial product at C + s·`splitStride`.
    var splits = 1
    var splitStride = 0
    /// A batch of equal products (attention's per-head products): entry e reads A, B and
    /// writes C at these element offsets times e; every entry's tiles are work units.
    var batches = 1
    var aBatchStride = 0, bBatchStride = 0, cBatchStride = 0
    /// B is an activation read in place, once, from memory (a 1×1 convolution's input): see
    /// `GeneratedGemm.panelsOutside`.
    var streamsB = false
    /// Elementwise ops applied to each tile once stored (`TileEpilogue`), and the multi-index
    /// of C(i, j) in the result's shape they are written for.
    var epilogue: TileEpilogue?
    var elementIndex: (Expr, Expr) -> [Expr] = { [$0, $1] }
    /// The same for batch entry e (a batched product with an epilogue: the images of a 1×1
    /// convolution), `(e, i, j)`; C's offset of the entry is added to the flat index.
    var entryElementIndex: ((Expr, Expr, Expr) -> [Expr])?

    func cIndex(_ i: Expr, _ j: Expr) -> Expr {
        if segment >= n { return i.mul(cRowStride).plus(j).plus(cOffset) }
        return j.div(segment).mul(segmentStride).plus(i.mul(cRowStride)).plus(j.rem(segment)).plus(cOffset)
    }
}

/// Where the micro-kernel reads B's panels: element (p, q·nr + c) at
/// `offset + q·panelStride + p·rowStride + c`. Packed panels have rowStride nr and panelStride
/// k·nr; a B whose rows are contiguous and padded to whole panels (a convolution's columns
/// written so by im2col) is read in place with rowStride = its row length and panelStride nr.
struct BPanels {
    var buffer: Int
    var offset = 0
    var rowStride: Int
    var panelStride: Int
    /// Panels from this one on are read from another source (a B read in place whose last
    /// panel is partial: that one panel is packed, zero-padded, instead of the whole of B).
    var tail: (panel: Int, source: Packed)?
    /// Elements between batch entries' B (default: `GemmOperands.bBatchStride`); a packed tail
    /// holds one panel per entry.
    var batchStride: Int?

    struct Packed { var buffer: Int; var k: Int; var nr: Int }

    static func packed(_ buffer: Int, k: Int, nr: Int) -> BPanels { BPanels(buffer: buffer, rowStride: nr, panelStride: k * nr) }
}

/// A GEMM generated as loop IR, BLIS-style: B packed into zero-padded panels of `nr` columns
/// (one kernel; `element(p, j)` says what B(p, j) is, so a convolution packs straight from its
/// input: im2col and packing in one pass), then a micro-kernel per `mr`×`nr` tile of C whose
/// accumulators are vector registers — for every p, `nr / lanes` vector loads of the panel,
/// `mr` broadcasts of A and `mr · nr / lanes` fused multiply-adds. Work units (a block of row
/// tiles × a block of panels) are the parallel loop. The last row tile is a shorter tile of its
/// own; edge panels compute on padded columns and store only what lies inside C.
enum GeneratedGemm {
    typealias Element = (inout KernelBuilder, _ p: Expr, _ j: Expr) -> Expr

    /// The packing kernel's body: packed[(q·k + p)·nr + c] = B(p, q·nr + c), 0 past column n.
    static func pack(_ b: inout KernelBuilder, k: Int, n: Int, tiling t: GemmTiling, into packed: Int, element: Element) -> [Stmt] {
        let panels = (n + t.nr - 1) / t.nr
        func store(_ b: inout KernelBuilder, _ q: Expr, _ p: Expr, _ c: Expr) -> [Stmt] {
            let at = q.mul(k).plus(p).mul(t.nr).plus(c)
            let j = q.mul(t.nr).plus(c)
            if n % t.nr == 0 { return [.store(buffer: packed, index: at, value: element(&b, p, j))] }
            let inside = j.compare(.lt, .i64(n))
            let clamped = Expr.select(inside, j, .i64(n - 1))
            return [.store(buffer: packed, index: at, value: .select(inside, element(&b, p, clamped), .f32(0)))]
        }
        // One flat loop over (panel, row): a tall, narrow B (a filter gradient's) has one panel.
        return b.loop(panels * k, .dataParallel) { b, row in
            let q = row.div(k), p = row.rem(k)
            return b.loop(t.nr, .dataParallel) { b, c in store(&b, q, p, c) }
        }
    }

    /// The compute kernel's body: every tile of C from the packed panels (`tileScratch` holds
    /// one spilled tile per work unit, for edge tiles).
    static func compute(_ b: inout KernelBuilder, _ g: GemmOperands, tiling t: GemmTiling, panels source: BPanels, tileScratch: Int) -> [Stmt] {
        let tiles = (g.m + t.mr - 1) / t.mr, panels = (g.n + t.nr - 1) / t.nr
        let rowBlocks = (tiles + t.tilesPerBlock - 1) / t.tilesPerBlock
        let columnBlocks = (panels + t.panelsPerBlock - 1) / t.panelsPerBlock
        let units = rowBlocks * columnBlocks, perEntry = g.splits * units
        return b.loop(g.batches * perEntry, .dataParallel) { b, work in
            let entry = g.batches == 1 ? Expr.i64(0) : work.div(perEntry), local = g.batches == 1 ? work : work.rem(perEntry)
            let slice = g.splits == 1 ? Expr.i64(0) : local.div(units), unit = g.splits == 1 ? local : local.rem(units)
            let rowBlock = unit.div(columnBlocks), columnBlock = unit.rem(columnBlocks)
            // Tile (panel q, row tile `tile`) of the block.
            func tileBody(_ b: inout KernelBuilder, _ q: Expr, _ tile: Expr) -> [Stmt] {
                var body = t.rowTile(&b, rows: g.m, tile: tile) { b, tiling, i0 in
                    microKernel(&b, g, tiling, firstRow: i0, panel: q, source: source, slice: slice, entry: entry,
                                spill: work.mul(t.mr * t.nr), tileScratch: tileScratch)
                }
                if let (first, packed) = source.tail {
                    // The packed tail panel sits at panel 0 of its own buffer.
                    var tailSource = BPanels.packed(packed.buffer, k: packed.k, nr: packed.nr)
                    tailSource.offset = -first * tailSource.panelStride
                    tailSource.batchStride = packed.k * packed.nr
                    let tailBody = t.rowTile(&b, rows: g.m, tile: tile) { b, tiling, i0 in
                        microKernel(&b, g, tiling, firstRow: i0, panel: q, source: tailSource, slice: slice, entry: entry,
                                    spill: work.mul(t.mr * t.nr), tileScratch: tileScratch)
                    }
                    body = [.when(q.compare(.lt, .i64(first)), then: body, otherwise: tailBody)]
                }
                return body
            }
            func guarded(_ body: [Stmt], _ index: Expr, _ count: Int, _ perBlock: Int) -> [Stmt] {
                count % perBlock == 0 ? body : [.when(index.compare(.lt, .i64(count)), then: body, otherwise: [])]
            }
            // Row tiles outside, panels inside: a tile's rows of C are written panel after panel,
            // as a few streams, where BLIS's order (panels outside) writes every row of the block
            // for each panel — a page per row. Measured round-robin (AVX2 Zen 3): a 1×1
            // convolution of 16 to 96 channels on 112×112 took 0.72–0.74 of the time; 1024³
            // 0.98, 32×784×256 0.91–0.96, ONNX ResNet-18 b1 0.94–0.99, MobileNetV2 0.89–1.06.
            // A projection streaming its B from memory runs panels outside (`panelsOutside`).
            // Row tile or panel blocks of the unit: the index of each, its body guarded past the end.
            func blockLoop(_ b: inout KernelBuilder, _ perBlock: Int, _ block: Expr, _ count: Int,
                           _ body: (inout KernelBuilder, Expr) -> [Stmt]) -> [Stmt] {
                b.loop(perBlock, .ordered) { b, i in
                    let index = block.mul(perBlock).plus(i)
                    return guarded(body(&b, index), index, count, perBlock)
                }
            }
            if panelsOutside(g, source: source) {
                return blockLoop(&b, t.panelsPerBlock, columnBlock, panels) { b, q in
                    blockLoop(&b, t.tilesPerBlock, rowBlock, tiles) { b, tile in tileBody(&b, q, tile) }
                }
            }
            return blockLoop(&b, t.tilesPerBlock, rowBlock, tiles) { b, tile in
                blockLoop(&b, t.panelsPerBlock, columnBlock, panels) { b, q in tileBody(&b, q, tile) }
            }
        }
    }

    /// One tile of C: rows `i0` … `i0 + mr − 1` (all inside C: the last row tile is a shorter
    /// one of its own, `GemmTiling.rowTile`), columns of panel `q`.
    private static func microKernel(_ b: inout KernelBuilder, _ g: GemmOperands, _ t: GemmTiling, firstRow i0: Expr, panel q: Expr,
                                    source: BPanels, slice: Expr, entry: Expr, spill: Expr, tileScratch: Int) -> [Stmt] {
        let j0 = q.mul(t.nr)
        let depth = g.k / g.splits, k0 = slice.mul(depth)
        // Offsets of this batch entry's matrices (0 for a single product).
        let (aEntry, bEntry, cEntry) = g.batches == 1 ? (Expr.i64(0), Expr.i64(0), Expr.i64(0))
            : (entry.mul(g.aBatchStride), entry.mul(g.bBatchStride), entry.mul(g.cBatchStride))
        let cIndex = { (i: Expr, j: Expr) -> Expr in
            let at = g.batches == 1 ? g.cIndex(i, j) : g.cIndex(i, j).plus(cEntry)
            return g.splits == 1 ? at : at.plus(slice.mul(g.splitStride))
        }
        var stmts: [Stmt] = []
        let rows = (0..<t.mr).map { i0.plus($0) }
        let tileRegisters = RegisterTile(&b, t, into: &stmts)
        // B streamed from memory in place (rows far apart): each step prefetches the same row
        // of the next panel, a panel's worth of steps ahead (`streamsB`).
        let inPlacePanels = source.tail?.panel ?? (g.n + t.nr - 1) / t.nr
        let prefetchAhead: Expr? = panelsOutside(g, source: source) && inPlacePanels > 1
            ? .select(q.compare(.lt, .i64(inPlacePanels - 1)), .i64(source.panelStride), .i64(0)) : nil
        stmts += b.loop(depth, .ordered) { b, p0 in
            let p = g.splits == 1 ? p0 : p0.plus(k0)
            var base = q.mul(source.panelStride).plus(p.mul(source.rowStride)).plus(source.offset)
            if g.batches > 1 { base = base.plus(source.batchStride.map { entry.mul($0) } ?? bEntry) }
            let prefetch = prefetchAhead.map { [Stmt.prefetch(buffer: source.buffer, index: base.plus($0))] } ?? []
            return prefetch + tileRegisters.step(&b, a: g.a, aIndex: { r in
                let at = rows[r].mul(g.aRowStride).plus(p.mul(g.aColumnStride)).plus(g.aOffset)
                return g.batches == 1 ? at : at.plus(aEntry)
            },
                                      b: source.buffer, bIndex: { v in base.plus(v * t.lanes) })
        }
        // The epilogue's multi-index and flat offset of C(i, j) (with the batch entry's).
        let elementIndex = { (i: Expr, j: Expr) -> [Expr] in
            g.batches > 1 ? (g.entryElementIndex?(entry, i, j) ?? g.elementIndex(i, j)) : g.elementIndex(i, j)
        }
        let entryOffset = g.batches > 1 && g.entryElementIndex != nil ? cEntry : .i64(0)
        let columnsInside = g.n % t.nr == 0 && (g.segment >= g.n || g.segment % t.nr == 0)
        var inside = j0.plus(t.nr).compare(.le, .i64(g.n))
        if g.segment < g.n { inside = inside.and(j0.rem(g.segment).compare(.le, .i64(g.segment - t.nr))) }
        let insideC = { (_: Expr, c: Expr) -> Expr in j0.plus(c).compare(.lt, .i64(g.n)) }
        if let epilogue = g.epilogue, let product = epilogue.product, !g.accumulate, g.splits == 1 {
            // The product is no result: it stays in the unit's scratch tile (L1), where the
            // epilogue reads it, and C's buffer is written once, by the epilogue.
            b.productKeptOut = true
            let kept = tileRegisters.storeWhole(tileScratch, accumulate: false) { r, v in spill.plus(r * t.nr + v * t.lanes) }
            let given = { (r: Expr, c: Expr) -> [String: Expr] in [product: .load(buffer: tileScratch, index: spill.plus(r.mul(t.nr)).plus(c))] }
            let whole = kept + epilogue.tile(&b, rows: t.mr, columns: t.nr, inside: nil, given: given) { r, c in
                (elementIndex(i0.plus(r), j0.plus(c)), g.cIndex(i0.plus(r), j0).plus(c).plus(entryOffset))
            }
            if columnsInside { return stmts + whole }
            let edge = kept + epilogue.tile(&b, rows: t.mr, columns: t.nr, inside: insideC, given: given) { r, c in
                (elementIndex(i0.plus(r), j0.plus(c)), g.cIndex(i0.plus(r), j0.plus(c)).plus(entryOffset))
            }
            return stmts + [.when(inside, then: whole, otherwise: edge)]
        }
        // Whole vectors when the tile lies inside C (and its columns in one segment).
        var whole = tileRegisters.storeWhole(g.c, accumulate: g.accumulate) { r, v in cIndex(i0.plus(r), j0.plus(v * t.lanes)) }
        if let epilogue = g.epilogue {
            whole += epilogue.tile(&b, rows: t.mr, columns: t.nr, inside: nil) { r, c in
                (elementIndex(i0.plus(r), j0.plus(c)), g.cIndex(i0.plus(r), j0).plus(c).plus(entryOffset))
            }
        }
        if columnsInside { return stmts + whole }
        var spilled = tileRegisters.storeSpilled(&b, g.c, accumulate: g.accumulate, scratch: tileScratch, spill: spill) { r, c in
            (cIndex(i0.plus(r), j0.plus(c)), insideC(r, c))
        }
        if let epilogue = g.epilogue {
            spilled += epilogue.tile(&b, rows: t.mr, columns: t.nr, inside: insideC) { r, c in
                (elementIndex(i0.plus(r), j0.plus(c)), g.cIndex(i0.plus(r), j0.plus(c)).plus(entryOffset))
            }
        }
        return stmts + [.when(inside, then: whole, otherwise: spilled)]
    }

    /// `KILN_GEMM_ORDER=tiles` or `panels` forces one loop order inside work units (side-by-side
    /// benchmarks); otherwise `panelsOutside` decides.
    nonisolated(unsafe) static var order = getenv("KILN_GEMM_ORDER").map { String(cString: $0) } ?? "auto"

    /// Whether a work unit runs panel by panel, every row tile of a panel before the next
    /// (BLIS's order), and prefetches the next panel as it goes: for a B streamed once from
    /// memory in place (`GemmOperands.streamsB`, a 1×1 convolution's activation) whose rows
    /// outnumber C's (k > m: a projection, 144 → 24 channels). Each step then reads a line of
    /// a B row in another page, which the hardware prefetchers do not follow; read panel by
    /// panel, a panel comes from memory once and its row tiles share it from L1. Measured
    /// round-robin (AVX2 Zen 3, batch 8): 96 → 16 channels on 112×112 took 0.52–0.61 of the
    /// time of row tiles outside without prefetches, 144 → 24 on 56×56 0.71. Where C's rows
    /// outnumber B's (an expansion, 16 → 96) C's writes dominate and row tiles stay outside;
    /// a matmul's B (weights, read every step) stays in cache, and 32×784×256 took 1.07× as
    /// long panel by panel.
    static func panelsOutside(_ g: GemmOperands, source: BPanels) -> Bool {
        switch order {
        case "panels": return true
        case "tiles": return false
        default: return g.streamsB && g.k > g.m && source.rowStride >= 64
        }
    }

    /// The two kernels of C = A·B with B given element by element: pack, then compute.
    static func kernels(_ b: inout KernelBuilder, _ g: GemmOperands, tiling t: GemmTiling, element: Element) -> [LoopKernel] {
        let panels = (g.n + t.nr - 1) / t.nr
        let packed = b.scratch(.f32, count: panels * g.k * t.nr)
        let packBody = pack(&b, k: g.k, n: g.n, tiling: t, into: packed, element: element)
        return [b.kernel(packBody, work: g.k * panels * t.nr, suffix: "_pack"),
                computeKernel(&b, g, tiling: t, panels: .packed(packed, k: g.k, nr: t.nr))]
    }

    /// The compute kernel of C = A·B reading B's panels from `source`.
    static func computeKernel(_ b: inout KernelBuilder, _ g: GemmOperands, tiling t: GemmTiling, panels source: BPanels) -> LoopKernel {
        let panels = (g.n + t.nr - 1) / t.nr, tiles = (g.m + t.mr - 1) / t.mr
        let units = ((tiles + t.tilesPerBlock - 1) / t.tilesPerBlock) * ((panels + t.panelsPerBlock - 1) / t.panelsPerBlock)
        let spill = b.scratch(.f32, count: g.batches * g.splits * units * t.mr * t.nr)
        let body = compute(&b, g, tiling: t, panels: source, tileScratch: spill)
        let flops = 2 * g.batches * g.m * g.n * g.k
        return b.kernel(body, work: flops, flops: flops, suffix: "_gemm\(t)")
    }
}
