import Glibc
import KilnIR

/// Convolution and its adjoints.
/// - conv2d on the generated kernels: a direct convolution for stride-1 filters wider than 1×1
///   (`DirectConvolution`), else im2col writing the GEMM's packed panels, W[O, C·KH·KW] as A,
///   and register tiles stored straight into NCHW (`GeneratedGemm`), epilogues in the tiles.
/// - With `KILN_GEMM=sgemm`: cols = im2col(x) [C·KH·KW, N·S]; P = W × cols through one `sgemm`
///   over the whole batch; y[n, o, s] = P[o, n·S + s] (or scalar direct loops for tiny filters).
/// - grad input at stride 1: a direct convolution of dy with the filter turned 180°
///   (`ConvolutionGradients.gradInputDirect`); otherwise
/// - grad input: cols = Wᵀ × dy on the generated GEMM (`ConvolutionGradients`; with
///   `KILN_GEMM=sgemm`: dyT[o, n·S + s] = dy[n, o, s], then sgemm); dx = col2im(cols),
///   computed per dx element by gathering the taps that read it (no scatter, so it splits
///   across threads)
/// - grad filter: dW = dyT × colsᵀ on the generated GEMM, split over k (or sgemm)
/// Each phase is its own kernel so every phase gets its own threads.
enum ConvolutionLowering {
    /// cols[p][n·S + oy·OW + ox] = x[n, ci, oy·sh + i − ph, ox·sw + j − pw] (0 outside), p = (ci·KH + i)·KW + j.
    /// With `panel` (the GEMM's nr), the columns are written as the generated GEMM's packed
    /// B: column j of row p at ((j / nr)·patch + p)·nr + j % nr, zeros past N·S up to whole panels.
    static func im2col(_ b: inout KernelBuilder, _ x: Int, _ g: WindowGeometry, cols: Int, panel: Int? = nil) -> [Stmt] {
        let columns = g.n * g.spatial
        let padded = panel.map { (columns + $0 - 1) / $0 * $0 } ?? columns
        func destination(_ p: Expr, _ j: Expr) -> Expr {
            guard let nr = panel else { return p.mul(columns).plus(j) }
            return j.div(nr).mul(g.patch).plus(p).mul(nr).plus(j.rem(nr))
        }
        return b.loop(g.patch, .dataParallel) { b, p in
            let ci = p.div(g.kh * g.kw), i = p.div(g.kw).rem(g.kh), j = p.rem(g.kw)
            let fill = b.loop(g.n, .ordered) { b, n in
                b.loop(g.oh, .ordered) { b, oy in
                    b.loop(g.ow, .dataParallel) { _, ox in
                        let (inside, offset) = g.tap(oy: oy, ox: ox, i: i, j: j)
                        let plane = n.mul(g.c).plus(ci).mul(g.h * g.w)
                        let value = Expr.select(inside, .load(buffer: x, index: plane.plus(offset)), .f32(0))
                        return [.store(buffer: cols, index: destination(p, n.mul(g.spatial).plus(oy.mul(g.ow)).plus(ox)), value: value)]
                    }
                }
            }
            let pad = b.loop(padded - columns, .dataParallel) { _, c in [.store(buffer: cols, index: destination(p, c.plus(columns)), value: .f32(0))] }
            return fill + pad
        }
    }

    /// [N, O, S] ↔ [O, N·S]: `toChannelMajor` reads NCHW and writes channel-major.
    static func permute(_ b: inout KernelBuilder, from: Int, to: Int, n: Int, channels: Int, spatial: Int, toChannelMajor: Bool) -> [Stmt] {
        b.loop(channels, .dataParallel) { b, c in
            b.loop(n, .ordered) { b, i in
                b.loop(spatial, .dataParallel) { _, s in
                    let nchw = i.mul(channels).plus(c).mul(spatial).plus(s)
                    let major = c.mul(n * spatial).plus(i.mul(spatial)).plus(s)
                    return toChannelMajor ? [.store(buffer: to, index: major, value: .load(buffer: from, index: nchw))]
                                          : [.store(buffer: to, index: nchw, value: .load(buffer: from, index: major))]
                }
            }
        }
    }

    /// dx[n, ci, y, x] = Σ over taps (i, j) with y = oy·sh + i − ph, x = ox·sw + j − pw of
    /// cols[p][n·S + oy·OW + ox]: each dx row is zeroed, then every tap adds a shifted row of
    /// cols, the innermost loop running along x so it vectorises; planes split across threads.
    static func col2im(_ b: inout KernelBuilder, cols: Int, _ g: WindowGeometry, out: Int) -> [Stmt] {
        let total = g.n * g.spatial
        return b.loop(g.n * g.c, .dataParallel) { b, plane in
            let n = plane.div(g.c), ci = plane.rem(g.c)
            return b.loop(g.h, .ordered) { b, y in
                let row = plane.mul(g.h * g.w).plus(y.mul(g.w))
                let zero = b.loop(g.w, .dataParallel) { _, x in [.store(buffer: out, index: row.plus(x), value: .f32(0))] }
                let taps = b.loop(g.kh, .ordered) { b, i in
                    let ty = y.plus(.i64(g.ph)).minus(i), oy = ty.div(g.sh)
                    var rowHit = ty.compare(.ge, .i64(0)).and(oy.compare(.lt, .i64(g.oh)))
                    if g.sh > 1 { rowHit = rowHit.and(ty.rem(g.sh).compare(.eq, .i64(0))) }
                    let inner = b.loop(g.kw, .ordered) { b, j in
                        let p = ci.mul(g.kh).plus(i).mul(g.kw).plus(j)
                        return b.loop(g.w, .dataParallel) { _, x in
                            let tx = x.plus(.i64(g.pw)).minus(j), ox = tx.div(g.sw)
                            var hit = tx.compare(.ge, .i64(0)).and(ox.compare(.lt, .i64(g.ow)))
                            if g.sw > 1 { hit = hit.and(tx.rem(g.sw).compare(.eq, .i64(0))) }
                            let column = n.mul(g.spatial).plus(LayoutLowering.clamp(oy, g.oh).mul(g.ow)).plus(LayoutLowering.clamp(ox, g.ow))
                            let v = Expr.select(hit, .load(buffer: cols, index: p.mul(total).plus(column)), .f32(0))
                            return [.store(buffer: out, index: row.plus(x), value: .binary(.add, .load(buffer: out, index: row.plus(x)), v))]
                        }
                    }
                    return [.when(rowHit, then: inner, otherwise: [])]
                }
                return zero + taps
            }
        }
    }

    /// Without the generated GEMM (`KILN_GEMM=sgemm`), filters with at most this many taps
    /// (C·KH·KW) are convolved by scalar loops: packing columns for so short a product costs
    /// more than sgemm saves (LeNet-5's first layer: 25 taps, 6 filters).
    static let scalarPatchLimit = 32

    /// y[n, o, oy, ox] = Σ over (c, i, j) of w[o, c, i, j] · x[n, c, oy·sh + i − ph, ox·sw + j − pw]:
    /// each output row is zeroed, then every tap adds a weighted, shifted input row; the innermost
    /// loop runs along the row so it vectorises, and (n, o) planes split across threads.
    static func direct(_ b: inout KernelBuilder, x: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [Stmt] {
        b.loop(g.n * o, .dataParallel) { b, plane in
            let n = plane.div(o), oc = plane.rem(o)
            return b.loop(g.oh, .ordered) { b, oy in
                let row = plane.mul(g.spatial).plus(oy.mul(g.ow))
                let zero = b.loop(g.ow, .dataParallel) { _, ox in [.store(buffer: out, index: row.plus(ox), value: .f32(0))] }
                let taps = b.loop(g.c, .ordered) { b, c in
                    b.loop(g.kh, .ordered) { b, i in
                        let y = oy.mul(g.sh).plus(i).minus(.i64(g.ph))
                        let rowInside = y.compare(.ge, .i64(0)).and(y.compare(.lt, .i64(g.h)))
                        let inputRow = n.mul(g.c).plus(c).mul(g.h * g.w).plus(LayoutLowering.clamp(y, g.h).mul(g.w))
                        // Taps unrolled: each covers a static range of the row, with no bounds checks.
                        var columns: [Stmt] = []
                        for j in 0..<g.kw {
                            let (first, count) = g.columns(tap: j)
                            guard count > 0 else { continue }
                            let weight = b.fresh()
                            columns.append(.bind(weight, .load(buffer: w, index: oc.mul(g.c).plus(c).mul(g.kh).plus(i).mul(g.kw).plus(.i64(j)))))
                            columns += b.loop(count, .dataParallel) { _, v in
                                let ox = v.plus(first)
                                let target = row.plus(ox)
                                let input = Expr.load(buffer: x, index: inputRow.plus(ox.mul(g.sw).plus(j - g.pw)))
                                return [.store(buffer: out, index: target,
                                               value: .binary(.add, .load(buffer: out, index: target), .binary(.mul, .value(weight), input)))]
                            }
                        }
                        return [.when(rowInside, then: columns, otherwise: [])]
                    }
                }
                return zero + taps
            }
        }
    }

    nonisolated(unsafe) static var packPointwise = getenv("KILN_POINTWISE").map { String(cString: $0) } == "pack"

    static func conv2d(_ b: inout KernelBuilder, x: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel] {
        if !MatmulLowering.useGeneratedGemm && g.patch <= scalarPatchLimit {
            return [b.kernel(direct(&b, x: x, w: w, g, outChannels: o, out: out), work: 2 * g.n * o * g.spatial * g.patch, flops: 2 * g.n * o * g.spatial * g.patch, suffix: "_direct")]
        }
        let total = g.n * g.spatial
        if MatmulLowering.useGeneratedGemm {
            // y[n, o, s] = Σ_p W[o, p]·cols[p, n·S + s]: W is A, the columns are B, and the register
            // tiles store straight into NCHW (one column segment per image), so nothing is unpacked.
            // im2col writes the columns straight into the packed panels the micro-kernel reads
            // (no packing pass); a 1×1 stride-1 unpadded convolution of one image packs its input.
            var operands = GemmOperands(m: o, n: total, k: g.patch, a: w, aRowStride: g.patch, aColumnStride: 1,
                                        c: out, cRowStride: g.spatial, segment: g.spatial, segmentStride: o * g.spatial)
            let (spatial, width) = (g.spatial, g.ow)
            operands.elementIndex = { i, j in [j.div(spatial), i, j.rem(spatial).div(width), j.rem(width)] }
            let tiling = GemmTiling.choose(m: o, n: total, k: g.patch, target: b.target)
            if tiling.isLegal {
                if let winograd = WinogradRows.kernels(&b, x: x, w: w, g, outChannels: o, out: out) { return winograd }
                if let channels = ChannelVectorConvolution.kernels(&b, x: x, w: w, g, outChannels: o, out: out) { return channels }
                if let direct = DirectConvolution.kernels(&b, x: x, w: w, g, outChannels: o, out: out) { return direct }
                operands.epilogue = b.tileEpilogue
                b.tileEpilogue = nil
                let pointwise = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0
                if pointwise && g.n > 1 && !ConvolutionLowering.packPointwise {
                    return pointwiseBatch(&b, x: x, w: w, g, outChannels: o, out: out, epilogue: operands.epilogue)
                }
                if pointwise && g.n == 1 {
                    // The input's rows are B's rows: with whole panels, read in place (no copy of
                    // the activation; `KILN_POINTWISE=pack` packs for side-by-side runs).
                    if !ConvolutionLowering.packPointwise {
                        operands.streamsB = true
                        var panels = BPanels(buffer: x, rowStride: total, panelStride: tiling.nr)
                        let full = total / tiling.nr
                        guard total % tiling.nr != 0 else { return [GeneratedGemm.computeKernel(&b, operands, tiling: tiling, panels: panels)] }
                        // Whole panels in place; only the partial last one is packed (zero-padded).
                        let tail = b.scratch(.f32, count: g.patch * tiling.nr)
                        let start = full * tiling.nr
                        let pack = GeneratedGemm.pack(&b, k: g.patch, n: total - start, tiling: tiling, into: tail) { _, p, j in
                            .load(buffer: x, index: p.mul(total).plus(j).plus(start))
                        }
                        panels.tail = (full, .init(buffer: tail, k: g.patch, nr: tiling.nr))
                        return [b.kernel(pack, work: g.patch * tiling.nr, suffix: "_pack"),
                                GeneratedGemm.computeKernel(&b, operands, tiling: tiling, panels: panels)]
                    }
                    return GeneratedGemm.kernels(&b, operands, tiling: tiling) { _, p, j in .load(buffer: x, index: p.mul(total).plus(j)) }
                }
                let padded = (total + tiling.nr - 1) / tiling.nr * tiling.nr
                let columns = b.scratch(.f32, count: g.patch * padded)
                let pack = im2col(&b, x, g, cols: columns, panel: tiling.nr)
                return [b.kernel(pack, work: g.patch * total, suffix: "_im2col"),
                        GeneratedGemm.computeKernel(&b, operands, tiling: tiling, panels: .packed(columns, k: g.patch, nr: tiling.nr))]
            }
        }
        let cols = b.scratch(.f32, count: g.patch * total), product = b.scratch(.f32, count: o * total)
        let pack = im2col(&b, x, g, cols: cols)
        let gemm = Stmt.gemm(Gemm(a: w, b: cols, c: product, transposeA: false, transposeB: false, m: o, n: total, k: g.patch,
                                  lda: g.patch, ldb: total, ldc: total))
        let unpack = permute(&b, from: product, to: out, n: g.n, channels: o, spatial: g.spatial, toChannelMajor: false)
        return [b.kernel(pack, work: g.patch * total, suffix: "_pack"), b.kernel([gemm], work: 2 * o * total * g.patch, flops: 2 * o * total * g.patch, suffix: "_gemm"),
                b.kernel(unpack, work: o * total, suffix: "_unpack")]
    }

    /// A 1×1 stride-1 convolution of a batch: one product per image, W[O, C] × x[n] read in
    /// place as B (its rows are the image's channel planes), the tiles stored into y[n] with the
    /// epilogue — no im2col copy of the batch. When a plane is not whole panels, each image's
    /// last, partial panel is packed (zero-padded) by a small kernel.
    static func pointwiseBatch(_ b: inout KernelBuilder, x: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int,
                               epilogue: TileEpilogue?) -> [LoopKernel] {
        let spatial = g.spatial, width = g.ow
        var operands = GemmOperands(m: o, n: spatial, k: g.c, a: w, aRowStride: g.c, aColumnStride: 1,
                                    c: out, cRowStride: spatial, segment: spatial)
        operands.batches = g.n
        operands.streamsB = true
        operands.bBatchStride = g.c * spatial
        operands.cBatchStride = o * spatial
        operands.epilogue = epilogue
        operands.entryElementIndex = { e, i, j in [e, i, j.div(width), j.rem(width)] }
        let tiling = GemmTiling.choose(m: o, n: spatial, k: g.c, target: b.target)
        var panels = BPanels(buffer: x, rowStride: spatial, panelStride: tiling.nr)
        let full = spatial / tiling.nr
        guard spatial % tiling.nr != 0 else { return [GeneratedGemm.computeKernel(&b, operands, tiling: tiling, panels: panels)] }
        let start = full * tiling.nr, rest = spatial - start
        let tail = b.scratch(.f32, count: g.n * g.c * tiling.nr)
        let pack = b.loop(g.n * g.c, .dataParallel) { b, plane in
            b.loop(tiling.nr, .dataParallel) { _, c in
                let value = Expr.select(c.compare(.lt, .i64(rest)),
                                        .load(buffer: x, index: plane.mul(spatial).plus(start).plus(LayoutLowering.clamp(c, rest))), .f32(0))
                return [.store(buffer: tail, index: plane.mul(tiling.nr).plus(c), value: value)]
            }
        }
        panels.tail = (full, .init(buffer: tail, k: g.c, nr: tiling.nr))
        return [b.kernel(pack, work: g.n * g.c * tiling.nr, suffix: "_pack"),
                GeneratedGemm.computeKernel(&b, operands, tiling: tiling, panels: panels)]
    }

    static func gradInput(_ b: inout KernelBuilder, dy: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel] {
        if MatmulLowering.useGeneratedGemm, ConvolutionGradients.enabled, let generated = ConvolutionGradients.gradInput(&b, dy: dy, w: w, g, outChannels: o, out: out) {
            return generated
        }
        let total = g.n * g.spatial
        let dyT = b.scratch(.f32, count: o * total), cols = b.scratch(.f32, count: g.patch * total)
        let transpose = permute(&b, from: dy, to: dyT, n: g.n, channels: o, spatial: g.spatial, toChannelMajor: true)
        let gemm = Stmt.gemm(Gemm(a: w, b: dyT, c: cols, transposeA: true, transposeB: false, m: g.patch, n: total, k: o,
                                  lda: g.patch, ldb: total, ldc: total))
        let scatter = col2im(&b, cols: cols, g, out: out)
        return [b.kernel(transpose, work: o * total, suffix: "_transpose"), b.kernel([gemm], work: 2 * o * total * g.patch, flops: 2 * o * total * g.patch, suffix: "_gemm"),
                b.kernel(scatter, work: g.n * g.c * g.h * g.w * g.kh * g.kw, suffix: "_col2im")]
    }

    static func gradFilter(_ b: inout KernelBuilder, x: Int, dy: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel] {
        if MatmulLowering.useGeneratedGemm, ConvolutionGradients.enabled, let generated = ConvolutionGradients.gradFilter(&b, x: x, dy: dy, g, outChannels: o, out: out) {
            return generated
        }
        let total = g.n * g.spatial
        let cols = b.scratch(.f32, count: g.patch * total), dyT = b.scratch(.f32, count: o * total)
        let pack = im2col(&b, x, g, cols: cols)
        let transpose = permute(&b, from: dy, to: dyT, n: g.n, channels: o, spatial: g.spatial, toChannelMajor: true)
        let gemm = Stmt.gemm(Gemm(a: dyT, b: cols, c: out, transposeA: false, transposeB: true, m: o, n: g.patch, k: total,
                                  lda: total, ldb: total, ldc: g.patch))
        return [b.kernel(pack, work: g.patch * total, suffix: "_pack"), b.kernel(transpose, work: o * total, suffix: "_transpose"),
                b.kernel([gemm], work: 2 * o * total * g.patch, flops: 2 * o * total * g.patch, suffix: "_gemm")]
    }
}
