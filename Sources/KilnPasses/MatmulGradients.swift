import KilnIR

/// Matmul's adjoints use the transpose flags instead of materialising transposes. For
/// y = op(A)·op(B) with op = identity or transpose:
///   A plain, B plain:   dA = dy·Bᵀ        dB = Aᵀ·dy
///   A transposed:       dA = B·dyᵀ        dB = A·dy
///   B transposed:       dA = dy·B         dB = dyᵀ·A
///   both transposed:    dA = Bᵀ·dyᵀ       dB = dyᵀ·Aᵀ
/// When one operand is broadcast over a batch (rank 2 against rank 3), its adjoint is summed
/// over the batch — as a single 2-D GEMM over the flattened batch when the layout allows.
func emitMatmulGradients(_ node: Node, dy: String, wanted: Set<Int>, _ e: inout NodeEmitter,
                         into result: inout [Int: String]) throws {
    let (a, b) = (node.operands[0], node.operands[1])
    let ta = node.attributes.bool("transpose_a"), tb = node.attributes.bool("transpose_b")
    func matmul(_ l: String, _ r: String, _ tl: Bool, _ tr: Bool) throws -> String {
        try e.emit(.matmul, [l, r], [("transpose_a", .bool(tl)), ("transpose_b", .bool(tr))])
    }
    let rankA = e.shape(a).rank

    if wanted.contains(0) {
        let da: String
        switch (ta, tb) {
        case (false, false): da = try matmul(dy, b, false, true)
        case (true, false): da = try matmul(b, dy, false, true)
        case (false, true): da = try matmul(dy, b, false, false)
        case (true, true): da = try matmul(b, dy, true, true)
        }
        // Batch axes along which A was broadcast are summed back (any rank, NumPy rules).
        result[0] = try e.unbroadcast(da, to: e.shape(a))
    }
    if wanted.contains(1) {
        let sb = e.shape(b)
        if sb.rank == 2, rankA >= 3, !ta, !tb {
            // Σ_batch A_bᵀ·dy_b is one GEMM over the flattened batch: [k, B·m] × [B·m, n].
            let sa = e.shape(a), sy = e.shape(dy)
            let rows = sa.dims.dropLast().reduce(1, *)
            let flatA = try e.reshape(a, to: Shape([rows, sa[sa.rank - 1]]))
            let flatDy = try e.reshape(dy, to: Shape([rows, sy[sy.rank - 1]]))
            result[1] = try matmul(flatA, flatDy, true, false)
        } else {
            let db: String
            switch (ta, tb) {
            case (false, false): db = try matmul(a, dy, true, false)
            case (true, false): db = try matmul(a, dy, false, false)
            case (false, true): db = try matmul(dy, a, true, false)
            case (true, true): db = try matmul(dy, a, true, true)
            }
            result[1] = try e.unbroadcast(db, to: sb)
        }
    }
}
