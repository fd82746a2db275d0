import KilnIR

/// Convolution as im2col + sgemm, and its two adjoints (col2im for the input gradient).
enum ConvolutionKernels {
    /// cols[(ci·kh + i)·kw + j][oy·ow + ox] = x[ci][oy·sh + i − ph][ox·sw + j − pw] (0 outside).
    /// `rowStride` is the length of a full row of `cols` (the batch's columns when images share one matrix).
    static func im2col(_ x: UnsafePointer<Float>, _ g: WindowGeometry, _ cols: UnsafeMutablePointer<Float>, rowStride: Int) {
        let spatial = rowStride
        for ci in 0..<g.c {
            for i in 0..<g.kh {
                for j in 0..<g.kw {
                    let row = cols + ((ci * g.kh + i) * g.kw + j) * spatial
                    for oy in 0..<g.oh {
                        let y = oy * g.sh + i - g.ph
                        let dst = row + oy * g.ow
                        if y < 0 || y >= g.h {
                            dst.update(repeating: 0, count: g.ow)
                            continue
                        }
                        let src = x + (ci * g.h + y) * g.w
                        for ox in 0..<g.ow {
                            let xx = ox * g.sw + j - g.pw
                            dst[ox] = xx >= 0 && xx < g.w ? src[xx] : 0
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of im2col: accumulates columns back into an image.
    static func col2im(_ cols: UnsafePointer<Float>, _ g: WindowGeometry, _ x: UnsafeMutablePointer<Float>, rowStride: Int) {
        let spatial = rowStride
        for ci in 0..<g.c {
            for i in 0..<g.kh {
                for j in 0..<g.kw {
                    let row = cols + ((ci * g.kh + i) * g.kw + j) * spatial
                    for oy in 0..<g.oh {
                        let y = oy * g.sh + i - g.ph
                        guard y >= 0 && y < g.h else { continue }
                        let dst = x + (ci * g.h + y) * g.w
                        for ox in 0..<g.ow {
                            let xx = ox * g.sw + j - g.pw
                            if xx >= 0 && xx < g.w { dst[xx] += row[oy * g.ow + ox] }
                        }
                    }
                }
            }
        }
    }

    private static func geometry(input: Shape, filter: Shape, output: Shape, _ attrs: Attributes) -> WindowGeometry {
        WindowGeometry(input: input, window: [filter[2], filter[3]], stride: attrs.ints("stride"),
                       padding: attrs.ints("padding"), output: output)
    }

    /// The whole batch's columns side by side: cols[patch][n·spatial + s], one GEMM per op
    /// instead of one per image (small per-image GEMMs leave OpenBLAS's threads idle).
    private static func batchColumns(_ x: Tensor, _ g: WindowGeometry) -> UnsafeMutablePointer<Float> {
        let patch = g.c * g.kh * g.kw, spatial = g.oh * g.ow, total = g.n * spatial
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(patch * total, 1))
        for b in 0..<g.n { im2col(x.floatPointer + b * g.c * g.h * g.w, g, cols + b * spatial, rowStride: total) }
        return cols
    }

    /// dy as [O, N·spatial] (channel-major), the layout the batched GEMMs need.
    private static func channelMajor(_ dy: Tensor, channels o: Int, _ g: WindowGeometry) -> UnsafeMutablePointer<Float> {
        let spatial = g.oh * g.ow, total = g.n * spatial
        let t = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(o * total, 1))
        for b in 0..<g.n {
            for c in 0..<o { (t + c * total + b * spatial).update(from: dy.floatPointer + (b * o + c) * spatial, count: spatial) }
        }
        return t
    }

    /// y = W[O, C·KH·KW] × cols(x), then [O, N, spatial] → [N, O, spatial].
    static func conv2d(_ x: Tensor, _ w: Tensor, _ attrs: Attributes, into out: Tensor) {
        _ = BLAS.warmUp
        let g = geometry(input: x.shape, filter: w.shape, output: out.shape, attrs)
        let patch = g.c * g.kh * g.kw, spatial = g.oh * g.ow, o = w.shape[0], total = g.n * spatial
        let cols = batchColumns(x, g)
        let product = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(o * total, 1))
        defer { cols.deallocate(); product.deallocate() }
        BLAS.gemm(transA: false, transB: false, m: o, n: total, k: patch, a: w.floatPointer, lda: patch,
                  b: cols, ldb: total, c: product, ldc: total)
        for b in 0..<g.n {
            for c in 0..<o { (out.floatPointer + (b * o + c) * spatial).update(from: product + c * total + b * spatial, count: spatial) }
        }
    }

    /// dx = col2im(Wᵀ × dy) with the batch's columns side by side.
    static func gradInput(_ dy: Tensor, _ w: Tensor, _ attrs: Attributes, into dx: Tensor) {
        _ = BLAS.warmUp
        let g = geometry(input: dx.shape, filter: w.shape, output: dy.shape, attrs)
        let patch = g.c * g.kh * g.kw, o = w.shape[0], total = g.n * g.oh * g.ow
        let dyT = channelMajor(dy, channels: o, g)
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(patch * total, 1))
        defer { dyT.deallocate(); cols.deallocate() }
        BLAS.gemm(transA: true, transB: false, m: patch, n: total, k: o, a: w.floatPointer, lda: patch,
                  b: dyT, ldb: total, c: cols, ldc: total)
        dx.floatPointer.update(repeating: 0, count: dx.elementCount)
        for b in 0..<g.n { col2im(cols + b * g.oh * g.ow, g, dx.floatPointer + b * g.c * g.h * g.w, rowStride: total) }
    }

    /// dW = dy[O, N·spatial] × cols(x)ᵀ: one GEMM over the whole batch.
    static func gradFilter(_ x: Tensor, _ dy: Tensor, _ attrs: Attributes, into dw: Tensor) {
        _ = BLAS.warmUp
        let g = geometry(input: x.shape, filter: dw.shape, output: dy.shape, attrs)
        let patch = g.c * g.kh * g.kw, o = dw.shape[0], total = g.n * g.oh * g.ow
        let cols = batchColumns(x, g)
        let dyT = channelMajor(dy, channels: o, g)
        defer { cols.deallocate(); dyT.deallocate() }
        BLAS.gemm(transA: false, transB: true, m: o, n: patch, k: total, a: dyT, lda: total,
                  b: cols, ldb: total, c: dw.floatPointer, ldc: patch)
    }
}

/// Max and average pooling over NCHW, and their adjoints. Max pooling treats padding as −∞
/// and routes a gradient to the first maximum of its window; average pooling divides by the
/// full window area (padding counts as zeros).
enum PoolingKernels {
    private static func geometry(_ input: Shape, _ output: Shape, _ attrs: Attributes) -> WindowGeometry {
        WindowGeometry(input: input, window: attrs.ints("window"), stride: attrs.ints("stride"),
                       padding: attrs.ints("padding"), output: output)
    }

    /// Calls body(plane offset in input, output index, first max or window sum…) per output element.
    private static func forEachWindow(_ g: WindowGeometry, _ body: (Int, Int, Int, Int) -> Void) {
        for plane in 0..<(g.n * g.c) {
            for oy in 0..<g.oh {
                for ox in 0..<g.ow {
                    body(plane, (plane * g.oh + oy) * g.ow + ox, oy * g.sh - g.ph, ox * g.sw - g.pw)
                }
            }
        }
    }

    /// The flat input index of the first maximum in a window, or −1 if the window is all padding.
    @inline(__always)
    private static func argmax(_ x: UnsafePointer<Float>, _ g: WindowGeometry, plane: Int, y0: Int, x0: Int) -> Int {
        var best = -Float.infinity, bestIndex = -1
        for i in 0..<g.kh {
            let y = y0 + i
            guard y >= 0 && y < g.h else { continue }
            for j in 0..<g.kw {
                let xx = x0 + j
                guard xx >= 0 && xx < g.w else { continue }
                let index = (plane * g.h + y) * g.w + xx
                if bestIndex < 0 || x[index] > best || (x[index].isNaN && !best.isNaN) {
                    best = x[index]
                    bestIndex = index
                }
            }
        }
        return bestIndex
    }

    static func maxPool(_ x: Tensor, _ attrs: Attributes, into out: Tensor) {
        let g = geometry(x.shape, out.shape, attrs)
        let px = x.floatPointer, po = out.floatPointer
        forEachWindow(g) { plane, o, y0, x0 in
            let index = argmax(px, g, plane: plane, y0: y0, x0: x0)
            po[o] = index < 0 ? -.infinity : px[index]
        }
    }

    static func maxPoolGrad(_ x: Tensor, _ dy: Tensor, _ attrs: Attributes, into dx: Tensor) {
        let g = geometry(x.shape, dy.shape, attrs)
        let px = x.floatPointer, pd = dy.floatPointer, po = dx.floatPointer
        po.update(repeating: 0, count: dx.elementCount)
        forEachWindow(g) { plane, o, y0, x0 in
            let index = argmax(px, g, plane: plane, y0: y0, x0: x0)
            if index >= 0 { po[index] += pd[o] }
        }
    }

    static func avgPool(_ x: Tensor, _ attrs: Attributes, into out: Tensor) {
        let g = geometry(x.shape, out.shape, attrs)
        let px = x.floatPointer, po = out.floatPointer
        let area = Float(g.kh * g.kw)
        forEachWindow(g) { plane, o, y0, x0 in
            var sum: Float = 0
            for i in 0..<g.kh where y0 + i >= 0 && y0 + i < g.h {
                for j in 0..<g.kw where x0 + j >= 0 && x0 + j < g.w { sum += px[(plane * g.h + y0 + i) * g.w + x0 + j] }
            }
            po[o] = sum / area
        }
    }

    static func avgPoolGrad(_ dy: Tensor, _ attrs: Attributes, into dx: Tensor) {
        let g = geometry(dx.shape, dy.shape, attrs)
        let pd = dy.floatPointer, po = dx.floatPointer
        po.update(repeating: 0, count: dx.elementCount)
        let area = Float(g.kh * g.kw)
        forEachWindow(g) { plane, o, y0, x0 in
            let share = pd[o] / area
            for i in 0..<g.kh where y0 + i >= 0 && y0 + i < g.h {
                for j in 0..<g.kw where x0 + j >= 0 && x0 + j < g.w { po[(plane * g.h + y0 + i) * g.w + x0 + j] += share }
            }
        }
    }
}
