import KilnIR

/// Grouped and depthwise convolution (`groups` > 1) and its adjoints as direct loops.
///
/// Forward: a grouped filter has few taps per output (C/G·KH·KW: 9 for a 3×3 depthwise), far
/// too few for a GEMM, so each output plane is computed as whole vectors of taps. The input is
/// first split into `stride`² *phase planes* with zero borders (phase (py, px) holds the
/// bordered input's rows py, py + sh, … and columns px, px + sw, …), each `wq` wide. Then for
/// every output position (oy, ox), tap (i, j) reads phase (i mod sh, j mod sw) at row
/// oy + i / sh, column ox + j / sw: with the plane laid out flat (f = oy·wq + ox) every tap is
/// the flat index plus a constant, so the loop over f is one contiguous run of vector loads and
/// FMAs — for strided layers too (MobileNetV2's stride-2 depthwise convolutions), with no
/// bounds checks. Columns past OW and rows past OH are computed and dropped when the plane is
/// copied into the result (with the fused epilogue, if any). When each output plane reads only
/// its own group's channels (depthwise), the split happens per plane inside the compute kernel.
/// Adjoints: scalar gather loops (grad input) and per-weight reductions (grad filter).
enum GroupedConvolution {
    /// Taps (per-group channels × window) summed in one expression; above this, per channel.
    static let unrolledTaps = 64

    static func conv2d(_ b: inout KernelBuilder, x: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, groups: Int, out: Int) -> [LoopKernel] {
        let lanes = b.target.vectorLanes, p = PhasePlanes(g, multipleOf: lanes)
        let (cg, og) = (g.c / groups, o / groups)
        let taps = cg * g.kh * g.kw, channelSize = p.phases * p.planeSize
        let wide = taps <= unrolledTaps && g.ow >= 2 * lanes
        let epilogue = b.tileEpilogue
        b.tileEpilogue = nil
        let flops = 2 * g.n * o * g.spatial * taps, work = 2 * g.n * o * p.flat * taps
        if og == 1 {
            // Each output plane reads its own group's channels only (depthwise, or grouped with
            // one filter per group): its phases are split right before it is computed, into a
            // slot its block of planes reuses — still in cache when read, one kernel, no pass
            // over a whole phase copy of the input.
            let planes = g.n * o, blocks = slotCount(planes, threads: b.target.threads), perBlock = planes / blocks
            let slots = b.scratch(.f32, count: blocks * cg * channelSize)
            let flat = wide ? nil : b.scratch(.f32, count: blocks * p.flat)
            let body = b.loop(blocks, .dataParallel) { b, block in
                let slot = { (c: Expr) -> Expr in block.mul(cg).plus(c).mul(channelSize) }
                // The slot's zero borders, once: each plane rewrites only the interior.
                let borders = b.loop(cg, .ordered) { b, c in p.splitChannel(&b, x, g, channel: .i64(0), into: slots, at: slot(c), part: .borders) }
                return borders + b.loop(perBlock, .ordered) { b, k in
                    let plane = block.mul(perBlock).plus(k)
                    let firstChannel = plane.div(o).mul(g.c).plus(plane.rem(o).mul(cg))
                    let split = b.loop(cg, .ordered) { b, c in
                        p.splitChannel(&b, x, g, channel: firstChannel.plus(c), into: slots, at: slot(c), part: .interior)
                    }
                    return split + computePlane(&b, w: w, g, p, outChannels: o, cg: cg, wide: wide, plane: plane, phases: slots, channel: slot,
                                                flat: flat.map { ($0, block.mul(p.flat)) }, out: out, epilogue: epilogue)
                }
            }
            return [b.kernel(body, work: work + planes * cg * channelSize, flops: flops, suffix: "_grouped")]
        }
        let phases = b.scratch(.f32, count: g.n * g.c * channelSize)
        let split = p.split(&b, x, g, into: phases)
        let flat = wide ? nil : b.scratch(.f32, count: g.n * o * p.flat)
        let compute = b.loop(g.n * o, .dataParallel) { b, plane in
            let firstChannel = plane.div(o).mul(g.c).plus(plane.rem(o).div(og).mul(cg))
            return computePlane(&b, w: w, g, p, outChannels: o, cg: cg, wide: wide, plane: plane, phases: phases,
                                channel: { firstChannel.plus($0).mul(channelSize) }, flat: flat.map { ($0, plane.mul(p.flat)) }, out: out, epilogue: epilogue)
        }
        return [b.kernel(split, work: g.n * g.c * channelSize, suffix: "_phases"),
                b.kernel(compute, work: work, flops: flops, suffix: "_grouped")]
    }

    /// Blocks of output planes that each reuse one slot of phase planes: about eight per thread
    /// (the pool claims chunks of them), a divisor of the planes so every block is full.
    static func slotCount(_ planes: Int, threads: Int) -> Int {
        let wanted = 8 * threads
        guard planes > wanted else { return planes }
        return (wanted...planes).first { planes % $0 == 0 } ?? planes
    }

    /// Output plane `plane` (n·O + oc) from the phases of its group's channels (`channel(c)`:
    /// where channel c of the group starts in `phases`). Wide rows store straight into NCHW;
    /// narrow ones run along flat outputs into `flat` (buffer, this plane's start) and are
    /// copied out with the epilogue.
    private static func computePlane(_ b: inout KernelBuilder, w: Int, _ g: WindowGeometry, _ p: PhasePlanes, outChannels o: Int, cg: Int, wide: Bool,
                                     plane: Expr, phases: Int, channel: @escaping (Expr) -> Expr, flat: (buffer: Int, start: Expr)?,
                                     out: Int, epilogue: TileEpilogue?) -> [Stmt] {
        let n = plane.div(o), oc = plane.rem(o)
        // Σ over the group's channels c and taps (i, j) of w[oc, c, i, j] · phases[c][f + tap(i, j)].
        func sum(_ channels: [Expr], f: Expr) -> Expr {
            var total: Expr? = nil
            for c in channels {
                let base = channel(c).plus(f)
                let filter = oc.mul(cg).plus(c).mul(g.kh * g.kw)
                for i in 0..<g.kh {
                    for j in 0..<g.kw {
                        let weight = Expr.load(buffer: w, index: filter.plus(i * g.kw + j))
                        let input = Expr.load(buffer: phases, index: base.plus(p.tap(i, j)))
                        total = total.map { .fma(weight, input, $0) } ?? .binary(.mul, weight, input)
                    }
                }
            }
            return total ?? .f32(0)
        }
        let result = { (oy: Expr, ox: Expr) -> Expr in plane.mul(g.spatial).plus(oy.mul(g.ow)).plus(ox) }
        guard let (planes, row) = flat else {
            // Rows wide enough to vectorise on their own (56 and 112 wide): each output
            // written straight into NCHW with its epilogue — no flat plane and no copy.
            return b.loop(g.oh, .ordered) { b, oy in
                b.loop(g.ow, .dataParallel) { b, ox in
                    let at = result(oy, ox)
                    let value = Stmt.store(buffer: out, index: at, value: sum((0..<cg).map { .i64($0) }, f: oy.mul(p.wq).plus(ox)))
                    return [value] + (epilogue?.element(&b, index: [n, oc, oy, ox], flat: at) ?? [])
                }
            }
        }
        // Narrow rows (28, 14, 7 wide) along flat outputs across row ends, into a flat plane.
        var stmts: [Stmt]
        if cg * g.kh * g.kw <= unrolledTaps {
            stmts = b.loop(p.flat, .dataParallel) { _, f in
                [.store(buffer: planes, index: row.plus(f), value: sum((0..<cg).map { .i64($0) }, f: f))]
            }
        } else {
            stmts = b.loop(p.flat, .dataParallel) { _, f in [.store(buffer: planes, index: row.plus(f), value: .f32(0))] }
            stmts += b.loop(cg, .ordered) { b, c in
                b.loop(p.flat, .dataParallel) { _, f in
                    let partial = sum([c], f: f)
                    return [.store(buffer: planes, index: row.plus(f), value: .binary(.add, .load(buffer: planes, index: row.plus(f)), partial))]
                }
            }
        }
        // One pass: the epilogue reads the element just stored (forwarded in registers).
        stmts += b.loop(g.oh, .ordered) { b, oy in
            b.loop(g.ow, .dataParallel) { b, ox in
                let copy = Stmt.store(buffer: out, index: result(oy, ox), value: .load(buffer: planes, index: row.plus(oy.mul(p.wq)).plus(ox)))
                return [copy] + (epilogue?.element(&b, index: [n, oc, oy, ox], flat: result(oy, ox)) ?? [])
            }
        }
        return stmts
    }

    /// dx[n, ci, y, x] = Σ over the group's filters k and taps (i, j) with y = oy·sh + i − ph,
    /// x = ox·sw + j − pw of w[k, ci mod C/G, i, j] · dy[n, k, oy, ox].
    static func gradInput(_ b: inout KernelBuilder, dy: Int, w: Int, _ g: WindowGeometry, outChannels o: Int, groups: Int, out: Int) -> [LoopKernel] {
        let (cg, og) = (g.c / groups, o / groups)
        let body = b.loop(g.n * g.c, .dataParallel) { b, plane in
            let n = plane.div(g.c), ci = plane.rem(g.c)
            let firstFilter = ci.div(cg).mul(og), local = ci.rem(cg)
            return b.loop(g.h, .ordered) { b, y in
                b.loop(g.w, .dataParallel) { b, x in
                    let target = plane.mul(g.h * g.w).plus(y.mul(g.w)).plus(x)
                    let acc = b.fresh()
                    let filters = b.loop(og, .ordered) { _, k in
                        let filter = firstFilter.plus(k)
                        var terms: [Stmt] = []
                        for i in 0..<g.kh {
                            for j in 0..<g.kw {
                                let ty = y.plus(.i64(g.ph - i)), tx = x.plus(.i64(g.pw - j))
                                let oy = ty.div(g.sh), ox = tx.div(g.sw)
                                var hit = ty.compare(.ge, .i64(0)).and(oy.compare(.lt, .i64(g.oh))).and(tx.compare(.ge, .i64(0))).and(ox.compare(.lt, .i64(g.ow)))
                                if g.sh > 1 { hit = hit.and(ty.rem(g.sh).compare(.eq, .i64(0))) }
                                if g.sw > 1 { hit = hit.and(tx.rem(g.sw).compare(.eq, .i64(0))) }
                                let source = n.mul(o).plus(filter).mul(g.spatial).plus(LayoutLowering.clamp(oy, g.oh).mul(g.ow)).plus(LayoutLowering.clamp(ox, g.ow))
                                let weight = Expr.load(buffer: w, index: filter.mul(cg).plus(local).mul(g.kh * g.kw).plus(i * g.kw + j))
                                let term = Expr.select(hit, .binary(.mul, weight, .load(buffer: dy, index: source)), .f32(0))
                                terms.append(.assign(acc, .binary(.add, .value(acc), term)))
                            }
                        }
                        return terms
                    }
                    return [.declare(acc, .f32, .f32(0))] + filters + [.store(buffer: out, index: target, value: .value(acc))]
                }
            }
        }
        return [b.kernel(body, work: 2 * g.n * g.c * g.h * g.w * og * g.kh * g.kw, suffix: "_grouped_grad_input")]
    }

    /// dw[k, c, i, j] = Σ over (n, oy, ox) of dy[n, k, oy, ox] · x[n, group(k)·C/G + c, oy·sh + i − ph, ox·sw + j − pw].
    static func gradFilter(_ b: inout KernelBuilder, x: Int, dy: Int, _ g: WindowGeometry, outChannels o: Int, groups: Int, out: Int) -> [LoopKernel] {
        let (cg, og) = (g.c / groups, o / groups)
        let taps = cg * g.kh * g.kw
        let body = b.loop(o * taps, .dataParallel) { b, weight in
            let k = weight.div(taps), c = weight.div(g.kh * g.kw).rem(cg), i = weight.div(g.kw).rem(g.kh), j = weight.rem(g.kw)
            let channel = k.div(og).mul(cg).plus(c)
            let acc = b.fresh()
            let sum = b.loop(g.n, .ordered) { b, n in
                b.loop(g.oh, .ordered) { b, oy in
                    b.loop(g.ow, .ordered) { _, ox in
                        let (inside, offset) = g.tap(oy: oy, ox: ox, i: i, j: j)
                        let input = Expr.select(inside, .load(buffer: x, index: n.mul(g.c).plus(channel).mul(g.h * g.w).plus(offset)), .f32(0))
                        let gradient = Expr.load(buffer: dy, index: n.mul(o).plus(k).mul(g.spatial).plus(oy.mul(g.ow)).plus(ox))
                        return [.assign(acc, .binary(.addReassoc, .value(acc), .binary(.mul, gradient, input)))]
                    }
                }
            }
            return [.declare(acc, .f32, .f32(0))] + sum + [.store(buffer: out, index: weight, value: .value(acc))]
        }
        return [b.kernel(body, work: 2 * o * taps * g.n * g.spatial, suffix: "_grouped_grad_filter")]
    }
}
