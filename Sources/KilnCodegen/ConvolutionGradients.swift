import Glibc
import KilnIR

/// The adjoints of conv2d on the generated GEMM (training): the products `ConvolutionLowering`
/// otherwise hands to sgemm, with the im2col and transposes folded into the GEMM's packing.
/// - grad filter: dW[O, P] = Σ over positions q of dy(q, o)·cols(p, q) — A is dy made
///   channel-major, B(q, p) is the input value tap p reads at position q, packed straight
///   from x split once into phase planes. Few tiles and a long k (every position of the batch) is the usual shape, so k is
///   split into slices computed in parallel and summed by a second kernel.
/// - grad input: cols[P, N·S] = Wᵀ·dy — A is W read transposed in place, B(o, q) = dy at
///   position q packed from NCHW; col2im then gathers the columns into dx.
enum ConvolutionGradients {
    /// Off with `KILN_CONV_GRAD=sgemm` (side-by-side benchmarks against the sgemm path).
    nonisolated(unsafe) static var enabled = getenv("KILN_CONV_GRAD").map { String(cString: $0) } != "sgemm"

    /// The filter gradient's B packed into `nr`-wide panels of taps: row q (a position n·S +
    /// oy·OW + ox) of panel p / nr holds the input values the taps p (= (ci·KH + i)·KW + j)
    /// read there, from the input's phase planes (`PhasePlanes`) — so no bounds checks, the taps
    /// as nested loops (no per-element division), zeros past the last tap.
    static func packColumns(_ b: inout KernelBuilder, source: Int, _ g: WindowGeometry, _ planes: PhasePlanes,
                            nr: Int, into packed: Int) -> [Stmt] {
        let total = g.n * g.spatial, panels = (g.patch + nr - 1) / nr
        let channelSize = planes.phases * planes.planeSize
        return b.loop(total, .dataParallel) { b, q in
            let n = q.div(g.spatial), oy = q.rem(g.spatial).div(g.ow), ox = q.rem(g.ow)
            let position = n.mul(g.c * channelSize).plus(oy.mul(planes.wq)).plus(ox)
            let at = { (p: Expr) -> Expr in p.div(nr).mul(total).plus(q).mul(nr).plus(p.rem(nr)) }
            var stmts = b.loop(g.c, .ordered) { b, ci in
                b.loop(g.kh, .ordered) { _, i in
                    (0..<g.kw).map { j in
                        let p = ci.mul(g.kh).plus(i).mul(g.kw).plus(j)
                        return .store(buffer: packed, index: at(p), value: .load(buffer: source, index: position.plus(ci.mul(channelSize)).plus(planes.tap(i, j))))
                    }
                }
            }
            stmts += b.loop(panels * nr - g.patch, .dataParallel) { _, c in [.store(buffer: packed, index: at(c.plus(g.patch)), value: .f32(0))] }
            return stmts
        }
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
        if let direct = DirectFilterGradient.kernels(&b, x: x, dy: dy, g, outChannels: o, out: out) { return direct }
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
        let planes = PhasePlanes(g, multipleOf: 1)
        let source = b.scratch(.f32, count: g.n * g.c * planes.phases * planes.planeSize)
        let split = planes.split(&b, x, g, into: source)
        let packed = b.scratch(.f32, count: panels * t.nr * total)
        let pack = packColumns(&b, source: source, g, planes, nr: t.nr, into: packed)
        var kernels = [b.kernel(transpose, work: o * total, suffix: "_transpose"), b.kernel(split, work: g.n * g.c * planes.phases * planes.planeSize, suffix: "_phases"),
                       b.kernel(pack, work: panels * t.nr * total, suffix: "_pack"),
                       GeneratedGemm.computeKernel(&b, operands, tiling: t, panels: .packed(packed, k: total, nr: t.nr))]
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

    /// At stride 1, dx is itself a convolution: of dy zero-padded by KH − 1 − ph (KW − 1 − pw),
    /// with the filter turned 180° and its channel axes swapped, w'[c, o, i, j] = w[o, c, KH−1−i,
    /// KW−1−j]. So it runs on the direct convolution — no columns, no col2im — when that applies.
    static func gradInputDirect(_ b: inout KernelBuilder, dy: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel]? {
        guard g.sh == 1, g.sw == 1, g.ph < g.kh, g.pw < g.kw else { return nil }
        let adjoint = WindowGeometry(input: Shape([g.n, o, g.oh, g.ow]), window: [g.kh, g.kw], stride: [1, 1],
                                     padding: [g.kh - 1 - g.ph, g.kw - 1 - g.pw], output: Shape([g.n, g.c, g.h, g.w]))
        guard DirectConvolution.plan(adjoint, outChannels: g.c, target: b.target) != nil else { return nil }
        let window = g.kh * g.kw, flipped = b.scratch(.f32, count: o * g.patch)
        let flip = b.loop(g.c * o, .dataParallel) { b, pair in
            let c = pair.div(o), k = pair.rem(o)
            return b.loop(window, .dataParallel) { _, tap in
                [.store(buffer: flipped, index: pair.mul(window).plus(tap),
                        value: .load(buffer: w, index: k.mul(g.c).plus(c).mul(window).plus(.i64(window - 1)).minus(tap)))]
            }
        }
        guard let direct = DirectConvolution.kernels(&b, x: dy, w: flipped, adjoint, outChannels: g.c, out: out) else { return nil }
        return [b.kernel(flip, work: o * g.patch, suffix: "_flip")] + direct
    }

    static func gradInput(_ b: inout KernelBuilder, dy: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel]? {
        if let direct = gradInputDirect(&b, dy: dy, w: w, g, outChannels: o, out: out) { return direct }
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
