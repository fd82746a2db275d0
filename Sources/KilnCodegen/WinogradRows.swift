import Glibc
import KilnIR

/// 3×3 stride-1 convolution with Winograd's F(m, 3) along the filter's rows (Lavin & Gray, "Fast
/// Algorithms for Convolutional Neural Networks", 2016, in one dimension; `WinogradTransform`):
/// each group of m output rows is α = m + 2 products per filter column instead of 3m, so the
/// multiply-adds drop by a third (F(2, 3)) or a half (F(4, 3)). Along a row nothing is
/// transformed, so every loop stays contiguous and vectorises (the 2-d F(2×2, 3×3) saves more
/// per tile, but its output tiles interleave columns). Kernels:
/// - `_weights`: U[ξ][o][c·3 + j] = (G·g)[ξ] for each filter column g = w[o, c, 0...2, j];
/// - `_rows`: V[ξ][n][c][t·wq + col] = (Bᵀ·d)[ξ] of the zero-bordered input's rows
///   m·t … m·t + α − 1 at column col (wq = OW + 2), read straight from x;
/// - `_winograd`: α 1×3 convolutions M[ξ] = U[ξ] ⊛ V[ξ] on the direct convolution's
///   register tiles (flat outputs across row ends, as `DirectConvolution`);
/// - `_unrows`: y[m·t + a] = (Aᵀ·M)[a] into NCHW, the fused epilogue applied to each element
///   as it is stored.
/// Rounding differs from the direct sum by a few ulps (the transforms add and scale inputs
/// before the products).
enum WinogradRows {
    /// Off with `KILN_CONV=direct` or `KILN_CONV=im2col` (side-by-side benchmarks).
    nonisolated(unsafe) static var enabled = getenv("KILN_CONV").map { String(cString: $0) } == nil
    /// Each transformed weight the `_weights` kernel writes costs about this many multiply-adds
    /// of the products per vector lane (it runs every call; a float written against vector
    /// FMAs on two ports: 16 multiply-adds with AVX-512, 8 with AVX2).
    static let weightTransformMultiplyAddsPerLane = 1
    /// F(m, 3) is taken when its products and transforms come to at most this share of the
    /// direct convolution's multiply-adds.
    /// Measured round-robin against the direct convolution (AVX-512, 2 threads, batch 1 and 8):
    /// 0.60–0.97 of the time on ResNet-18's 56×56, 28×28 and 14×14 layers; its 7×7 layers
    /// (512 filters of 512 channels: 63 flat outputs per plane against 48 useful, and 3 M weights
    /// transformed per call) took 1.0–1.45× as long, and this rule keeps them direct. On AVX2
    /// (Zen 3, 6×16 tiles on both sides) the single layers took 0.53–0.65 of the direct time
    /// and the whole ResNet-18 at batch 1 0.81–0.85.
    static let maximumShareOfDirect = 0.9

    /// The variants plans choose from: `KILN_WINOGRAD=2` or `4` keeps one (side-by-side benchmarks).
    nonisolated(unsafe) static var variants: [WinogradTransform] = {
        guard let m = getenv("KILN_WINOGRAD").flatMap({ Int(String(cString: $0)) }) else { return WinogradTransform.all }
        return WinogradTransform.all.filter { $0.m == m }
    }()

    /// The chosen F(m, 3) and the tiling of its α row products when one applies to `g` with
    /// `o` filters and pays against the direct convolution, else nil. Of the variants the one
    /// computing the fewest padded products is taken (per output row F(4, 3) does 6·3/4 taps'
    /// work, F(2, 3) 4·3/2, unless rounding the last group up wastes more on a short map). Tile
    /// rows are 2 or 3 vectors wide (3 only with 32 registers), whichever computes fewer padded
    /// outputs at the measured relative speed (`DirectConvolution.threeVectorSpeed`).
    static func plan(_ g: WindowGeometry, outChannels o: Int, target: CodegenTarget)
        -> (tiling: GemmTiling, groups: Int, transform: WinogradTransform)? {
        guard enabled, g.kh == 3, g.kw == 3, g.sh == 1, g.sw == 1, g.oh >= 2, o > 0, target.vectorLanes >= 8 else { return nil }
        var best: (tiling: GemmTiling, groups: Int, transform: WinogradTransform, time: Double)?
        for f in variants where g.oh >= f.m {
            let groups = (g.oh + f.m - 1) / f.m
            // Three vectors per row only where the registers leave a tall tile (as the direct convolution).
            for vectors in target.vectorRegisters >= 32 ? [2, 3] : [2] {
                let width = vectors * target.vectorLanes
                let flat = (groups * (g.ow + 2) + width - 1) / width * width
                let t = GemmTiling.choose(m: o, n: g.n * flat * f.alpha, k: 3 * g.c, target: target, vectorsPerRow: vectors)
                guard t.isLegal else { continue }
                let computed = Double((o + t.mr - 1) / t.mr * t.mr * g.n * f.alpha * flat * 3 * g.c)
                let weights = Double(3 * f.alpha * o * g.c * weightTransformMultiplyAddsPerLane * target.vectorLanes)
                // V and M, each element written once and read back once (vector loads and
                // stores): counted as a multiply-add each, which only tips layers of a few
                // channels (the products are 3·C·O per element pair).
                let transforms = Double(g.n * f.alpha * (g.c * (flat + target.vectorLanes) + o * flat))
                let time = computed / (vectors == 3 ? DirectConvolution.threeVectorSpeed : 1) + weights + transforms
                if best.map({ time < $0.time }) ?? true { best = (t, groups, f, time) }
            }
        }
        guard let best else { return nil }
        if let (planes, t) = DirectConvolution.plan(g, outChannels: o, target: target) {
            let direct = Double((o + t.mr - 1) / t.mr * t.mr * g.n * planes.flat * g.patch) / (t.vectorsPerRow == 3 ? DirectConvolution.threeVectorSpeed : 1)
            guard best.time <= maximumShareOfDirect * direct else { return nil }
        }
        return (best.tiling, best.groups, best.transform)
    }

    static func kernels(_ b: inout KernelBuilder, x: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel]? {
        guard let (t, groups, f) = plan(g, outChannels: o, target: b.target) else { return nil }
        let alpha = f.alpha
        // Flat products run across the bordered width, OW + 2, as the direct convolution's.
        let wq = g.ow + 2, width = t.nr
        let flat = (groups * wq + width - 1) / width * width
        // A V plane is read up to 2 past its flat outputs (the filter's columns): whole vectors of slack.
        let vPlane = flat + t.lanes
        let taps = 3 * g.c
        let tiles = (o + t.mr - 1) / t.mr, paddedChannels = tiles * t.mr

        let u = b.scratch(.f32, count: alpha * o * taps)
        let weights = b.loop(o * g.c, .dataParallel) { b, pair in
            var stmts: [Stmt] = []
            for j in 0..<3 {
                let column: [Expr] = (0..<3).map { i in
                    let id = b.fresh()
                    stmts.append(.bind(id, .load(buffer: w, index: pair.mul(9).plus(3 * i + j))))
                    return .value(id)
                }
                // U[ξ][o][c·3 + j]: pair = o·C + c, so the row offset is pair·3 + j.
                for (xi, row) in f.filterRows.enumerated() {
                    stmts.append(.store(buffer: u, index: pair.mul(3).plus(xi * o * taps + j), value: WinogradTransform.combination(row, column)))
                }
            }
            return stmts
        }

        // V straight from x: the zero border is written, never read (no bordered copy of the
        // input). Groups whose α rows all lie inside the image run in one loop; the few at the
        // top and bottom edge are written out with their missing rows as zeros.
        let v = b.scratch(.f32, count: alpha * g.n * g.c * vPlane)
        let interior = (first: (g.ph + f.m - 1) / f.m, last: (g.h - alpha + g.ph) >= 0 ? (g.h - alpha + g.ph) / f.m : -1)
        let rows = b.loop(g.n * g.c, .dataParallel) { b, plane in
            let input = plane.mul(g.h * g.w)
            func vIndex(_ xi: Int, _ at: Expr) -> Expr { plane.plus(xi * g.n * g.c).mul(vPlane).plus(at) }
            func zeros(_ b: inout KernelBuilder, from: Expr, count: Int) -> [Stmt] {
                (0..<alpha).flatMap { xi in b.loop(count, .dataParallel) { _, i in [.store(buffer: v, index: vIndex(xi, from.plus(i)), value: .f32(0))] } }
            }
            func groupRow(_ b: inout KernelBuilder, group: Expr, inside: [Bool]) -> [Stmt] {
                let row = group.mul(wq)
                var stmts = zeros(&b, from: row, count: g.pw)
                stmts += b.loop(g.w, .dataParallel) { _, col in
                    let d: [Expr] = (0..<alpha).map { i in
                        inside[i] ? .load(buffer: x, index: input.plus(group.mul(f.m * g.w)).plus((i - g.ph) * g.w).plus(col)) : .f32(0)
                    }
                    return f.inputRows.enumerated().map { xi, coefficients in
                        .store(buffer: v, index: vIndex(xi, row.plus(g.pw).plus(col)), value: WinogradTransform.combination(coefficients, d))
                    }
                }
                return stmts + zeros(&b, from: row.plus(g.pw + g.w), count: wq - g.pw - g.w)
            }
            var stmts: [Stmt] = []
            for t in 0..<groups where t < interior.first || t > interior.last {
                stmts += groupRow(&b, group: .i64(t), inside: (0..<alpha).map { i in (0..<g.h).contains(f.m * t + i - g.ph) })
            }
            if interior.last >= interior.first {
                stmts += b.loop(interior.last - interior.first + 1, .ordered) { b, q in
                    groupRow(&b, group: q.plus(interior.first), inside: Array(repeating: true, count: alpha))
                }
            }
            // Past the last group: zeros, so the products over them (dropped) stay finite.
            return stmts + zeros(&b, from: .i64(groups * wq), count: vPlane - groups * wq)
        }

        let m = b.scratch(.f32, count: alpha * g.n * paddedChannels * flat)
        let panels = flat / width, units = alpha * g.n * panels
        // One channel's row of V (a tile row plus the filter's overhang, rounded to lines) and filter taps.
        let reduction = ChannelBlocks(channels: g.c, bytesPerChannel: 4 * (t.nr + 16 + 3 * t.mr), target: b.target)
        let products = b.loop(units, .dataParallel) { b, unit in
            reduction.emit(&b) { b, first, count, accumulate in
                b.loop(tiles, .ordered) { b, tile in
                    t.rowTile(&b, rows: o, tile: tile) { b, tiling, firstRow in
                        microKernel(&b, u: u, v: v, m: m, g, outChannels: o, paddedChannels: paddedChannels, tiling, unit: unit, panels: panels,
                                    flat: flat, vPlane: vPlane, firstRow: firstRow, channels: (first, count), accumulate: accumulate)
                    }
                }
            }
        }

        let epilogue = b.tileEpilogue
        b.tileEpilogue = nil
        let unrows = b.loop(g.n * o, .dataParallel) { b, plane in
            let n = plane.div(o), oc = plane.rem(o)
            let stride = g.n * paddedChannels * flat
            let from = n.mul(paddedChannels).plus(oc).mul(flat)
            func rowsOut(_ b: inout KernelBuilder, group: Expr, count: Int) -> [Stmt] {
                b.loop(g.ow, .dataParallel) { b, ox in
                    let at = from.plus(group.mul(wq)).plus(ox)
                    let p = (0..<alpha).map { xi in Expr.load(buffer: m, index: at.plus(xi * stride)) }
                    var stmts: [Stmt] = []
                    for a in 0..<count {
                        let oy = group.mul(f.m).plus(a), target = plane.mul(g.spatial).plus(oy.mul(g.ow)).plus(ox)
                        stmts.append(.store(buffer: out, index: target, value: WinogradTransform.combination(f.outputRows[a], p)))
                        stmts += epilogue?.element(&b, index: [n, oc, oy, ox], flat: target) ?? []
                    }
                    return stmts
                }
            }
            var stmts = b.loop(g.oh / f.m, .ordered) { b, group in rowsOut(&b, group: group, count: f.m) }
            if g.oh % f.m > 0 { stmts += rowsOut(&b, group: .i64(g.oh / f.m), count: g.oh % f.m) }
            return stmts
        }
        let flops = 2 * alpha * g.n * o * groups * g.ow * taps
        let variant = f.m == 2 ? "" : "_f\(f.m)"
        return [b.kernel(weights, work: 4 * alpha * o * g.c, suffix: "_weights"),
                b.kernel(rows, work: 2 * alpha * g.n * g.c * vPlane, suffix: "_rows"),
                b.kernel(products, work: 2 * alpha * g.n * paddedChannels * flat * taps, flops: flops, suffix: "_winograd\(t)\(variant)"),
                b.kernel(unrows, work: 2 * (alpha + f.m) * g.n * o * g.spatial / f.m, suffix: "_unrows")]
    }

    /// One register tile of M[ξ][n] for unit (ξ, n, panel): rows o0 … o0 + mr − 1 of U[ξ], the
    /// reduction over (c, j) reading V[ξ][n][c] at the panel's flat outputs shifted by j.
    private static func microKernel(_ b: inout KernelBuilder, u: Int, v: Int, m: Int, _ g: WindowGeometry, outChannels o: Int,
                                    paddedChannels: Int, _ t: GemmTiling, unit: Expr, panels: Int, flat: Int, vPlane: Int,
                                    firstRow: Expr, channels block: (first: Expr, count: Int), accumulate: Bool) -> [Stmt] {
        var stmts: [Stmt] = []
        func bound(_ e: Expr) -> Expr {
            let id = b.fresh()
            stmts.append(.bind(id, e))
            return .value(id)
        }
        let taps = 3 * g.c
        let image = bound(unit.div(panels)), f0 = bound(unit.rem(panels).mul(t.nr))
        let xi = bound(image.div(g.n)), n = bound(image.rem(g.n))
        let o0 = bound(firstRow)
        let rows: [Expr] = (0..<t.mr).map { r in bound(xi.mul(o).plus(o0.plus(r)).mul(taps)) }
        let planes = bound(xi.mul(g.n).plus(n).mul(g.c))
        let tile = RegisterTile(&b, t, into: &stmts)
        stmts += b.loop(block.count, .ordered) { b, q in
            let c = block.first.plus(q)
            let start = planes.plus(c).mul(vPlane).plus(f0)
            var steps: [Stmt] = []
            for j in 0..<3 {
                steps += tile.step(&b, a: u, aIndex: { r in rows[r].plus(c.mul(3)).plus(j) },
                                   b: v, bIndex: { k in start.plus(j + k * t.lanes) })
            }
            return steps
        }
        return stmts + tile.storeWhole(m, accumulate: accumulate) { r, k in
            xi.mul(g.n).plus(n).mul(paddedChannels).plus(o0).plus(r).mul(flat).plus(f0).plus(k * t.lanes)
        }
    }
}
