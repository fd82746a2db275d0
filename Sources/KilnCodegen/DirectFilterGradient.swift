import KilnIR

/// The filter gradient of a convolution with few filters (LeNet's first layer: 6 filters of
/// 1×5×5): dW[o, p] = Σ over images and output positions of dy · the input value tap p reads.
/// The GEMM path packs every tap's column (C·KH·KW × N·S writes) to share it among the filters;
/// with few filters that packing costs more than the product. Here dy is laid out in the
/// phase planes' row width (`PhasePlanes`, zeros in the gap columns), so for each tap the sum
/// runs over one contiguous flat range of both buffers, read in place: a work unit holds a tile
/// of filters × taps in vector accumulators (lane-wise partial sums) over a slice of the
/// images, and a second kernel adds up the slices and lanes.
enum DirectFilterGradient {
    static func kernels(_ b: inout KernelBuilder, x: Int, dy: Int, _ g: WindowGeometry, outChannels o: Int, out: Int) -> [LoopKernel]? {
        let lanes = b.target.vectorLanes
        guard DirectConvolution.enabled, g.kh * g.kw > 1, o > 0, let vector = ScalarType.vector(lanes) else { return nil }
        let planes = PhasePlanes(g, multipleOf: lanes)
        // Vector loads per multiply-add are higher than the GEMM's (about 1.5× its cost per
        // flop); an im2col element costs `DirectConvolution.im2colElementFlops`.
        let gemmCost = Double(2 * o + DirectConvolution.im2colElementFlops), directCost = 3 * Double(o) / planes.fill(g)
        guard directCost < gemmCost else { return nil }
        // Accumulators rows × taps plus one loaded vector per row and per tap, within the registers.
        let rows = Swift.min(o, 4)
        let taps = Swift.max(1, Swift.min(g.patch, (b.target.vectorRegisters - 2 - rows) / (rows + 1)))
        let rowTiles = (o + rows - 1) / rows, tapTiles = (g.patch + taps - 1) / taps
        var slices = 1
        for s in 1...Swift.max(1, 2 * b.target.threads) where g.n % s == 0 { slices = s }
        let images = g.n / slices, vectors = planes.flat / lanes, weights = o * g.patch
        let channelSize = planes.phases * planes.planeSize, window = g.kh * g.kw
        let source = b.scratch(.f32, count: g.n * g.c * channelSize)
        let split = planes.split(&b, x, g, into: source)
        // dy[n, o, oy, ox] at oy·wq + ox; zero in the gap columns and past the last row.
        let rowsOfDy = b.scratch(.f32, count: g.n * o * planes.flat)
        let relayout = b.loop(g.n * o, .dataParallel) { b, plane in
            b.loop(planes.flat, .dataParallel) { _, f in
                let oy = f.div(planes.wq), ox = f.rem(planes.wq)
                let inside = oy.compare(.lt, .i64(g.oh)).and(ox.compare(.lt, .i64(g.ow)))
                let from = plane.mul(g.spatial).plus(LayoutLowering.clamp(oy, g.oh).mul(g.ow)).plus(LayoutLowering.clamp(ox, g.ow))
                return [.store(buffer: rowsOfDy, index: plane.mul(planes.flat).plus(f), value: .select(inside, .load(buffer: dy, index: from), .f32(0)))]
            }
        }
        let partial = b.scratch(.f32, count: slices * weights * lanes)
        let body = b.loop(slices * rowTiles * tapTiles, .dataParallel) { b, unit in
            let slice = unit.div(rowTiles * tapTiles), rowTile = unit.div(tapTiles).rem(rowTiles), tapTile = unit.rem(tapTiles)
            var stmts: [Stmt] = []
            func bound(_ e: Expr) -> Expr {
                let v = b.fresh()
                stmts.append(.bind(v, e))
                return .value(v)
            }
            // Rows and taps past the end repeat the last one (in bounds); they are not stored.
            let filters = (0..<rows).map { r in bound(.select(rowTile.mul(rows).plus(r).compare(.lt, .i64(o)), rowTile.mul(rows).plus(r), .i64(o - 1))) }
            let tapIndex = (0..<taps).map { k in bound(.select(tapTile.mul(taps).plus(k).compare(.lt, .i64(g.patch)), tapTile.mul(taps).plus(k), .i64(g.patch - 1))) }
            let offsets = tapIndex.map { p -> Expr in
                let ci = p.div(window), i = p.div(g.kw).rem(g.kh), j = p.rem(g.kw)
                return bound(ci.mul(channelSize).plus(i.rem(g.sh).mul(g.sw).plus(j.rem(g.sw)).mul(planes.planeSize))
                    .plus(i.div(g.sh).mul(planes.wq)).plus(j.div(g.sw)))
            }
            var accumulators: [[Int]] = []
            for _ in 0..<rows {
                accumulators.append((0..<taps).map { _ in
                    let v = b.fresh()
                    stmts.append(.declare(v, vector, .splat(.f32(0), lanes: lanes)))
                    return v
                })
            }
            stmts += b.loop(images, .ordered) { b, m in
                let n = slice.mul(images).plus(m), imageID = b.fresh(), image = Expr.value(imageID)
                return [.bind(imageID, n.mul(g.c * channelSize))] + b.loop(vectors, .ordered) { b, v in
                    let f = v.mul(lanes)
                    var step: [Stmt] = []
                    let gradients = filters.map { r -> Expr in
                        let id = b.fresh()
                        step.append(.bind(id, .vectorLoad(buffer: rowsOfDy, index: n.mul(o).plus(r).mul(planes.flat).plus(f), lanes: lanes)))
                        return .value(id)
                    }
                    let inputs = offsets.map { offset -> Expr in
                        let id = b.fresh()
                        step.append(.bind(id, .vectorLoad(buffer: source, index: image.plus(offset).plus(f), lanes: lanes)))
                        return .value(id)
                    }
                    for r in 0..<rows {
                        for k in 0..<taps {
                            step.append(.assign(accumulators[r][k], .fma(gradients[r], inputs[k], .value(accumulators[r][k]))))
                        }
                    }
                    return step
                }
            }
            for r in 0..<rows {
                for k in 0..<taps {
                    let row = rowTile.mul(rows).plus(r), tap = tapTile.mul(taps).plus(k)
                    let store = Stmt.vectorStore(buffer: partial, index: slice.mul(weights).plus(row.mul(g.patch)).plus(tap).mul(lanes), value: .value(accumulators[r][k]))
                    stmts.append(.when(row.compare(.lt, .i64(o)).and(tap.compare(.lt, .i64(g.patch))), then: [store], otherwise: []))
                }
            }
            return stmts
        }
        let sum = b.loop(weights, .dataParallel) { b, weight in
            let total = b.fresh()
            let terms = b.loop(slices * lanes, .ordered) { _, e in
                [.assign(total, .binary(.addReassoc, .value(total), .load(buffer: partial, index: e.div(lanes).mul(weights).plus(weight).mul(lanes).plus(e.rem(lanes)))))]
            }
            return [.declare(total, .f32, .f32(0))] + terms + [.store(buffer: out, index: weight, value: .value(total))]
        }
        let flops = 2 * weights * g.n * g.spatial
        return [b.kernel(split, work: g.n * g.c * channelSize, suffix: "_phases"),
                b.kernel(relayout, work: g.n * o * planes.flat, suffix: "_rows"),
                b.kernel(body, work: 2 * weights * g.n * planes.flat, flops: flops, suffix: "_direct\(rows)x\(taps)"),
                b.kernel(sum, work: slices * weights * lanes, suffix: "_slices")]
    }
}
