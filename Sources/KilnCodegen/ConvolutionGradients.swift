import KilnIR

/// The adjoints of conv2d on the generated GEMM (training): the products `ConvolutionLowering`
/// otherwise hands to sgemm, with the im2col and transposes folded into the GEMM's packing.
/// - grad filter: dW[O, P] = Σ over positions q of dy(q, o)·cols(p, q) — A is dy made
///   channel-major, B(q, p) is the input value tap p reads at position q, packed straight
///   from x. Few tiles and a long k (every position of the batch) is the usual shape, so k is
///   split into slices computed in parallel and summed by a second kernel.
/// - grad input: cols[P, N·S] = Wᵀ·dy — A is W read transposed in place, B(o, q) = dy at
///   position q packed from NCHW; col2im then gathers the columns into dx.
enum ConvolutionGradients {
    /// The input value tap p (= (ci·KH + i)·KW + j) reads at position q (= n·S + oy·OW + ox).
    static func column(_ x: Int, _ g: WindowGeometry, tap p: Expr, position q: Expr) -> Expr {
        let ci = p.div(g.kh * g.kw), i = p.div(g.kw).rem(g.kh), j = p.rem(g.kw)
        let n = q.div(g.spatial), oy = q.rem(g.spatial).div(g.ow), ox = q.rem(g.ow)
        let (inside, offset) = g.tap(oy: oy, ox: ox, i: i, j: j)
        return .select(inside, .load(buffer: x, index: n.mul(g.c).plus(ci).mul(g.h * g.w).plus(offset)), .f32(0))
    }

    /// The number of k slices for a product with `units` work units: enough for every thread
    /// twice, each slice at least 256 deep, a divisor of k (slices are equal).
    static func splits(k: Int, units: Int, threads: Int) -> Int {
        let wanted = 2 * threads
        guard units < wanted else { return 1 }
        var best = 1
        for s in 2...Swift.max(2, (wanted + units - 1) / units) where k % s == 0 && k / s >= 256 { best = s }
        return best
    }

    static func gradFilter(_ b: inout KernelBuilder, x: Int, dy: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel]? {
        let total = g.n * g.spatial
        let t = GemmTiling.choose(m: o, n: g.patch, k: total, target: b.target)
        guard t.isLegal else { return nil }
        let tiles = (o + t.mr - 1) / t.mr, panels = (g.patch + t.nr - 1) / t.nr
        let units = ((tiles + t.tilesPerBlock - 1) / t.tilesPerBlock) * ((panels + t.panelsPerBlock - 1) / t.panelsPerBlock)
        let slices = splits(k: total, units: units, threads: b.target.threads)
        let dyT = b.scratch(.f32, count: o * total)
        let transpose = ConvolutionLowering.permute(&b, from: dy, to: dyT, n: g.n, channels: o, spatial: g.spatial, toChannelMajor: true)
        let partial = slices > 1 ? b.scratch(.f32, count: slices * o * g.patch) : out
        var operands = GemmOperands(m: o, n: g.patch, k: total, a: dyT, aRowStride: total, aColumnStride: 1,
                                    c: partial, cRowStride: g.patch, segment: g.patch)
        operands.splits = slices
        operands.splitStride = o * g.patch
        let product = GeneratedGemm.kernels(&b, operands, tiling: t) { _, q, p in column(x, g, tap: p, position: q) }
        var kernels = [b.kernel(transpose, work: o * total, suffix: "_transpose")] + product
        if slices > 1 {
            let sum = b.loop(o * g.patch, .dataParallel) { _, i in
                var total = Expr.load(buffer: partial, index: i)
                for s in 1..<slices { total = .binary(.add, total, .load(buffer: partial, index: i.plus(s * o * g.patch))) }
                return [.store(buffer: out, index: i, value: total)]
            }
            kernels.append(b.kernel(sum, work: slices * o * g.patch, suffix: "_slices"))
        }
        return kernels
    }

    static func gradInput(_ b: inout KernelBuilder, dy: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel]? {
        let total = g.n * g.spatial
        let t = GemmTiling.choose(m: g.patch, n: total, k: o, target: b.target)
        guard t.isLegal else { return nil }
        let cols = b.scratch(.f32, count: g.patch * total)
        let operands = GemmOperands(m: g.patch, n: total, k: o, a: w, aRowStride: 1, aColumnStride: g.patch,
                                    c: cols, cRowStride: total, segment: total)
        let (spatial, channels) = (g.spatial, o)
        let product = GeneratedGemm.kernels(&b, operands, tiling: t) { _, k, q in
            .load(buffer: dy, index: q.div(spatial).mul(channels).plus(k).mul(spatial).plus(q.rem(spatial)))
        }
        let scatter = ConvolutionLowering.col2im(&b, cols: cols, g, out: out)
        return product + [b.kernel(scatter, work: g.n * g.c * g.h * g.w * g.kh * g.kw, suffix: "_col2im")]
    }
}
