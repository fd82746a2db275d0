import Glibc
import KilnIR

/// Matrix products: a single product, or a batch of rank-3 left operands against one shared
/// rank-2 right operand ([B·M, K] × [K, N]), runs on Kiln's generated GEMM (`GeneratedGemm`,
/// a single row on the vector-matrix kernels, `vectorMatrix`;
/// epilogues fused into its tiles); other batched products, transposed right operands wider than
/// 16 columns, and everything under `KILN_GEMM=sgemm` call OpenBLAS's `sgemm`; products of at
/// most a few thousand multiply-adds are plain loops. Measured: plain loops lose to sgemm from a
/// few thousand multiply-adds (the transformer's 49×49×16 attention products: 33 ms per step
/// with loops, 15.6 ms with sgemm).
enum MatmulLowering {
    /// Products with at most this many multiply-adds per batch entry use plain loops: a
    /// register-tiled GEMM's packing and tile stores cost more than such a product.
    static let loopLimit = 1 << 12

    static func lower(_ b: inout KernelBuilder, a: Int, _ ta: TensorType, b rhs: Int, _ tb: TensorType,
                      transposeA: Bool, transposeB: Bool, out: Int, _ type: TensorType) -> [LoopKernel] {
        let g = MatmulGeometry(a: ta.shape, b: tb.shape, transposeA: transposeA, transposeB: transposeB)
        let (m, n, k, batch) = (g.m, g.n, g.k, g.batchCount)
        let work = 2 * batch * m * n * k
        if m * n * k <= loopLimit || (!useGeneratedGemm && n <= 16 && batch == 1) {
            let body = b.loop(batch, batch > 1 ? .dataParallel : .ordered) { b, i in
                let aBase = batchOffset(i, g.aOffsets, g.batch), bBase = batchOffset(i, g.bOffsets, g.batch)
                let cBase = i.mul(m * n)
                return loops(&b, a: a, aBase: aBase, b: rhs, bBase: bBase, out: out, cBase: cBase,
                             m: m, n: n, k: k, lda: g.lda, ldb: g.ldb, transposeA: transposeA, transposeB: transposeB, parallelRows: batch == 1)
            }
            return [b.kernel(body, work: work, flops: work, suffix: "_loops")]
        }
        if batch == 1, m == 1, useGeneratedGemm {
            return vectorMatrix(&b, a: a, g, b: rhs, out: out, transposeA: transposeA, transposeB: transposeB)
        }
        if batch == 1 || g.flattensLeft, let kernels = generated(&b, a: a, b: rhs, g, transposeA: transposeA, transposeB: transposeB, out: out, type.shape) { return kernels }
        if !g.flattensLeft, let kernels = batchedGenerated(&b, a: a, b: rhs, g, transposeA: transposeA, transposeB: transposeB, out: out) {
            return kernels
        }
        if g.flattensLeft {
            // A batch of row blocks against one matrix: a single [B·M, K] × [K, N] product.
            let gemm = Gemm(a: a, b: rhs, c: out, transposeA: false, transposeB: transposeB, m: batch * m, n: n, k: k, lda: g.lda, ldb: g.ldb, ldc: n)
            return [b.kernel([.gemm(gemm)], work: work, flops: work)]
        }
        let calls: [Stmt] = (0..<batch).map { i in
            var gemm = Gemm(a: a, b: rhs, c: out, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, lda: g.lda, ldb: g.ldb, ldc: n)
            gemm.aOffset = g.aOffsets[i]
            gemm.bOffset = g.bOffsets[i]
            gemm.cOffset = i * m * n
            return .gemm(gemm)
        }
        return [b.kernel(calls, work: work, flops: work)]
    }

    /// Which GEMM serves products too large for plain loops: Kiln's generated micro-kernel
    /// (the default) or OpenBLAS's `sgemm` (`KILN_GEMM=sgemm`, for side-by-side benchmarks).
    nonisolated(unsafe) public static var useGeneratedGemm = getenv("KILN_GEMM").map { String(cString: $0) } != "sgemm"

    /// C = op(A)·op(B) as a generated GEMM (a single product, or a batch of row blocks against
    /// one right operand, flattened to one), or nil when a tiling does not fit the target.
    static func generated(_ b: inout KernelBuilder, a: Int, b rhs: Int, _ g: MatmulGeometry, transposeA: Bool, transposeB: Bool,
                          out: Int, _ shape: Shape) -> [LoopKernel]? {
        // A transposed B must be gathered into panels element by element, on every call (an LSTM
        // packs its recurrent weights 28 times a step: 1.4 ms of 9): OpenBLAS packs it better.
        // Thin products (≤ 16 columns) are the exception: there the generated kernel wins by 4×.
        guard useGeneratedGemm, !transposeB || g.n <= 16 else { return nil }
        let rows = g.batchCount * g.m
        let tiling = GemmTiling.choose(m: rows, n: g.n, k: g.k, target: b.target)
        guard tiling.isLegal else { return nil }
        let (lda, ldb) = (g.lda, g.ldb)
        let operands = GemmOperands(m: rows, n: g.n, k: g.k, a: a, aOffset: g.aOffsets.first ?? 0,
                                    aRowStride: transposeA ? 1 : lda, aColumnStride: transposeA ? lda : 1,
                                    c: out, cRowStride: g.n, segment: g.n)
        let bOffset = g.bOffsets.first ?? 0
        var tiled = operands
        tiled.epilogue = b.tileEpilogue
        b.tileEpilogue = nil
        // Row i of the (flattened) product is the result's batch index and row; j its column.
        let dims = shape.dims
        tiled.elementIndex = { i, j in
            var index: [Expr] = [j]
            var rest = i
            for axis in stride(from: dims.count - 2, through: 0, by: -1) {
                index.insert(axis == 0 ? rest : rest.rem(dims[axis]), at: 0)
                rest = rest.div(dims[axis])
            }
            return index
        }
        // B's rows already hold whole panels: read them in place when packing would not pay —
        // B small enough to stay in L2, or too few row tiles to reuse a packed panel (an RNN's
        // per-step products against one weight matrix; a batch-1 layer; an MLP's batch).
        let inPlace = !transposeB && g.n % tiling.nr == 0
            && (4 * g.k * g.n <= b.target.l2Bytes / 2 || (rows + tiling.mr - 1) / tiling.mr <= GemmTiling.packingReuse)
        if inPlace {
            return [GeneratedGemm.computeKernel(&b, tiled, tiling: tiling,
                                                panels: BPanels(buffer: rhs, offset: bOffset, rowStride: ldb, panelStride: tiling.nr))]
        }
        return GeneratedGemm.kernels(&b, tiled, tiling: tiling) { _, p, j in
            .load(buffer: rhs, index: (transposeB ? j.mul(ldb).plus(p) : p.mul(ldb).plus(j)).plus(bOffset))
        }
    }

    /// The element offset of batch entry `i`'s matrix as index arithmetic: the flat batch
    /// index split into the result's batch coordinates, each times the operand's stride along
    /// it (0 where the operand is broadcast). Offsets that grow by one matrix per entry (the
    /// usual unbroadcast operand) stay a single multiplication.
    static func batchOffset(_ i: Expr, _ offsets: [Int], _ batch: [Int]) -> Expr {
        guard offsets.count > 1 else { return .i64(offsets.first ?? 0) }
        let step = offsets[1] - offsets[0]
        if offsets.enumerated().allSatisfy({ $0.element == $0.offset * step }) { return i.mul(step) }
        // Per-axis strides, read off the offsets table (entry with a 1 at that axis, 0 elsewhere).
        var result = Expr.i64(0)
        var inner = 1
        for axis in batch.indices.reversed() {
            let stride = batch[axis] > 1 ? offsets[inner] : 0
            if stride != 0 { result = result.plus(i.div(inner).rem(batch[axis]).mul(stride)) }
            inner *= batch[axis]
        }
        return result
    }

    /// C[i, j] = Σ_p op(A)[i, p]·op(B)[p, j]. With B not transposed, each row of C accumulates
    /// rows of B scaled by A's entries (the inner loop runs along contiguous j); with B
    /// transposed, each C[i, j] is a dot product along contiguous p.
    /// A batch of equal products whose matrices lie at even strides (attention's per-head
    /// products, [B, H, 49, 49] × [B, H, 49, 16]) as one generated GEMM whose work units are
    /// every entry's tiles — split across threads, B's rows read in place — instead of one
    /// sgemm call per entry on one core. Right operands read transposed would need a packing
    /// per entry, and are left to sgemm; an epilogue runs as its own pass.
    static func batchedGenerated(_ b: inout KernelBuilder, a: Int, b rhs: Int, _ g: MatmulGeometry, transposeA: Bool, transposeB: Bool,
                                 out: Int) -> [LoopKernel]? {
        let batch = g.batchCount
        guard useGeneratedGemm, batch > 1, !transposeB, let aStride = evenStride(g.aOffsets), let bStride = evenStride(g.bOffsets) else { return nil }
        let tiling = GemmTiling.choose(m: g.m, n: g.n, k: g.k, target: b.target)
        guard tiling.isLegal, g.n % tiling.nr == 0 else { return nil }
        var operands = GemmOperands(m: g.m, n: g.n, k: g.k, a: a, aOffset: g.aOffsets.first ?? 0,
                                    aRowStride: transposeA ? 1 : g.lda, aColumnStride: transposeA ? g.lda : 1,
                                    c: out, cRowStride: g.n, segment: g.n)
        operands.batches = batch
        (operands.aBatchStride, operands.bBatchStride, operands.cBatchStride) = (aStride, bStride, g.m * g.n)
        let panels = BPanels(buffer: rhs, offset: g.bOffsets.first ?? 0, rowStride: g.ldb, panelStride: tiling.nr)
        return [GeneratedGemm.computeKernel(&b, operands, tiling: tiling, panels: panels)]
    }

    /// The step of offsets that grow evenly with the entry (0 for a broadcast operand), else nil.
    static func evenStride(_ offsets: [Int]) -> Int? {
        guard let first = offsets.first else { return nil }
        let step = offsets.count > 1 ? offsets[1] - first : 0
        return offsets.enumerated().allSatisfy { $0.element == first + $0.offset * step } ? step : nil
    }

    /// A row vector times a matrix (batch-1 inference's classifier, 1×1280 · 1280×1000): bound
    /// by reading B once, so a GEMM's packing and register tiles only add traffic. Columns are
    /// split across threads: with B transposed (PyTorch's and ONNX's Linear) each column is a
    /// dot product along a contiguous row of B; otherwise a block of columns is updated row by
    /// row of B. The epilogue, if any, is left to its own pass (a thousand elements).
    static func vectorMatrix(_ b: inout KernelBuilder, a: Int, _ g: MatmulGeometry, b rhs: Int, out: Int,
                             transposeA: Bool, transposeB: Bool) -> [LoopKernel] {
        let (n, k, lda, ldb) = (g.n, g.k, g.lda, g.ldb)
        let aBase = g.aOffsets.first ?? 0, bBase = g.bOffsets.first ?? 0
        // One row: element p of A is at p (or p·lda when A is stored transposed).
        func aAt(_ p: Expr) -> Expr { .load(buffer: a, index: (transposeA ? p.mul(lda) : p).plus(aBase)) }
        let work = 2 * n * k
        if transposeB {
            let body = b.loop(n, .dataParallel) { b, j in
                let acc = b.fresh()
                let sum = b.loop(k, .ordered) { _, p in
                    [.assign(acc, .binary(.addReassoc, .value(acc), .binary(.mul, aAt(p), .load(buffer: rhs, index: j.mul(ldb).plus(p).plus(bBase)))))]
                }
                return [.declare(acc, .f32, .f32(0))] + sum + [.store(buffer: out, index: j, value: .value(acc))]
            }
            return [b.kernel(body, work: work, flops: work, suffix: "_dots")]
        }
        // Blocks of columns (whole vectors, a few per thread), then the last columns if any.
        let width = Swift.min(n, 16 * b.target.vectorLanes), blocks = n / width, rest = n - blocks * width
        func update(_ b: inout KernelBuilder, first: Expr, count: Int) -> [Stmt] {
            let zero = b.loop(count, .dataParallel) { _, j in [.store(buffer: out, index: first.plus(j), value: .f32(0))] }
            let rows = b.loop(k, .ordered) { b, p in
                let scale = b.fresh()
                return [.bind(scale, aAt(p))] + b.loop(count, .dataParallel) { _, j in
                    let target = first.plus(j)
                    return [.store(buffer: out, index: target, value: .fma(.value(scale), .load(buffer: rhs, index: p.mul(ldb).plus(first).plus(j).plus(bBase)),
                                                                          .load(buffer: out, index: target)))]
                }
            }
            return zero + rows
        }
        var kernels = [b.kernel(b.loop(blocks, .dataParallel) { b, block in update(&b, first: block.mul(width), count: width) },
                                work: 2 * blocks * width * k, flops: 2 * blocks * width * k, suffix: "_columns")]
        if rest > 0 {
            kernels.append(b.kernel(update(&b, first: .i64(blocks * width), count: rest), work: 2 * rest * k, flops: 2 * rest * k, suffix: "_rest"))
        }
        return kernels
    }

    static func loops(_ b: inout KernelBuilder, a: Int, aBase: Expr, b rhs: Int, bBase: Expr, out: Int, cBase: Expr,
                      m: Int, n: Int, k: Int, lda: Int, ldb: Int, transposeA: Bool, transposeB: Bool, parallelRows: Bool) -> [Stmt] {
        func aAt(_ i: Expr, _ p: Expr) -> Expr { .load(buffer: a, index: aBase.plus(transposeA ? p.mul(lda).plus(i) : i.mul(lda).plus(p))) }
        return b.loop(m, parallelRows ? .dataParallel : .ordered) { b, i in
            let row = cBase.plus(i.mul(n))
            if transposeB {
                return b.loop(n, .ordered) { b, j in
                    let acc = b.fresh()
                    let sum = b.loop(k, .ordered) { _, p in
                        [.assign(acc, .binary(.addReassoc, .value(acc), .binary(.mul, aAt(i, p), .load(buffer: rhs, index: bBase.plus(j.mul(ldb).plus(p))))))]
                    }
                    return [.declare(acc, .f32, .f32(0))] + sum + [.store(buffer: out, index: row.plus(j), value: .value(acc))]
                }
            }
            let zero = b.loop(n, .dataParallel) { _, j in [.store(buffer: out, index: row.plus(j), value: .f32(0))] }
            let accumulate = b.loop(k, .ordered) { b, p in
                let scale = b.fresh()
                return [.bind(scale, aAt(i, p))] + b.loop(n, .dataParallel) { _, j in
                    let target = row.plus(j)
                    return [.store(buffer: out, index: target, value: .binary(.add, .load(buffer: out, index: target),
                                                                            .binary(.mul, .value(scale), .load(buffer: rhs, index: bBase.plus(p.mul(ldb).plus(j))))))]
                }
            }
            return zero + accumulate
        }
    }
}
