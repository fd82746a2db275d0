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

    /// Filters with at most this many taps have every tap of a channel written out, with
    /// constant plane offsets; larger ones loop over filter rows at run time. A row index known
    /// only at run time puts the phase arithmetic (i mod sh, i / sh) in the loop: at stride 2
    /// LLVM then spilled the tile's addresses, and 3×3 stride-2 convolutions ran at 0.55–0.8 of
    /// the unrolled speed (AVX2 Zen 3, round-robin); the 7×7 stem's 49 taps written out took
    /// 1.3–1.4× as long as its row loop. Written out, a kernel is three times the code for LLVM
    /// to compile, so a caller asks for it only where it was measured to pay (`writtenOut`).
    static let unrolledTaps = 16

    /// The reduction steps over one channel's taps: `step(b, tap's plane offset, tap index
    /// i·KW + j)` for each (i, j).
    func taps(_ b: inout KernelBuilder, _ g: WindowGeometry, writtenOut: Bool,
              _ step: (inout KernelBuilder, Expr, Expr) -> [Stmt]) -> [Stmt] {
        guard !writtenOut || g.kh * g.kw > Self.unrolledTaps else {
            return (0..<g.kh).flatMap { i in (0..<g.kw).flatMap { j in step(&b, .i64(tap(i, j)), .i64(i * g.kw + j)) } }
        }
        return b.loop(g.kh, .ordered) { b, i in
            (0..<g.kw).flatMap { j in step(&b, tap(i, j), i.mul(g.kw).plus(j)) }
        }
    }

    /// planes[n, c, phase (py, px), r, column] = x[n, c, r·sh + py − ph, column·sw + px − pw],
    /// 0 outside the input, for every channel of every image, the planes split among threads.
    func split(_ b: inout KernelBuilder, _ x: Int, _ g: WindowGeometry, into planes: Int) -> [Stmt] {
        b.loop(g.n * g.c, .dataParallel) { b, plane in
            splitChannel(&b, x, g, channel: plane, into: planes, at: plane.mul(phases * planeSize))
        }
    }

    /// The phases of one channel (`channel` counts (n, c) planes of x) into `planes` from
    /// `base`. Each phase's rows and columns that fall inside the input form one static
    /// rectangle: it is copied row by row (contiguous at stride 1, so the copy vectorises), and
    /// only the border around it is zeroed — no bounds test per element.
    func splitChannel(_ b: inout KernelBuilder, _ x: Int, _ g: WindowGeometry, channel: Expr, into planes: Int, at base: Expr,
                      part: SplitPart = .whole) -> [Stmt] {
        let (rows, width, sw, sh, size) = (rows, wq, sw, sh, planeSize)
        // First and one-past-last index q with 0 ≤ q·s + offset < extent, clamped to [0, count].
        func inside(_ offset: Int, _ s: Int, extent: Int, count: Int) -> (Int, Int) {
            let first = Swift.max(0, Self.ceilDiv(-offset, s)), end = Swift.min(count, Self.floorDiv(extent - 1 - offset, s) + 1)
            return (Swift.min(first, count), Swift.max(Swift.min(first, count), end))
        }
        func zero(_ b: inout KernelBuilder, from: Expr, count: Int) -> [Stmt] {
            guard count > 0, part != .interior else { return [] }
            return b.loop(count, .dataParallel) { _, i in [.store(buffer: planes, index: from.plus(i), value: .f32(0))] }
        }
        var stmts: [Stmt] = []
        for py in 0..<sh {
            for px in 0..<sw {
                let phase = base.plus((py * sw + px) * size)
                let (r0, r1) = inside(py - g.ph, sh, extent: g.h, count: rows)
                let (c0, c1) = inside(px - g.pw, sw, extent: g.w, count: width)
                stmts += zero(&b, from: phase, count: r0 * width)
                if c1 > c0 {
                    stmts += b.loop(r1 - r0, .ordered) { b, q in
                        guard part != .borders || c0 > 0 || c1 < width else { return [] }
                        let r = q.plus(r0), row = phase.plus(r.mul(width))
                        let y = r.mul(sh).plus(py - g.ph)
                        let from = channel.mul(g.h * g.w).plus(y.mul(g.w)).plus(px - g.pw)
                        let copy = part == .borders ? [] : b.loop(c1 - c0, .dataParallel) { _, i in
                                let column = i.plus(c0)
                                return [.store(buffer: planes, index: row.plus(column), value: .load(buffer: x, index: from.plus(column.mul(sw))))]
                            }
                        return zero(&b, from: row, count: c0) + copy + zero(&b, from: row.plus(c1), count: width - c1)
                    }
                } else {
                    stmts += zero(&b, from: phase.plus(r0 * width), count: (r1 - r0) * width)
                }
                stmts += zero(&b, from: phase.plus(r1 * width), count: (rows - r1) * width)
            }
        }
        return stmts
    }

    /// Which stores `splitChannel` writes: a slot reused by planes of one geometry keeps its
    /// zero borders, so they are written once (`borders`) and each plane copies only the
    /// input (`interior`).
    enum SplitPart: Sendable { case whole, borders, interior }

    static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
    static func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
}
