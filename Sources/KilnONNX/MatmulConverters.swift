import KilnIR

/// `Gemm` and `MatMul` on Kiln's `matmul` (rank 2, or rank 3 batches): N-d operands are
/// broadcast over their batch axes and folded into one batch axis; a rank-2 right operand
/// (a weight) turns any batch of rows into one plain product.
enum MatmulConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["Gemm"] = { ctx in
            let a = try ctx.operand(0), b = try ctx.operand(1)
            guard try ctx.rank(0) == 2, try ctx.rank(1) == 2 else { throw ConversionError("A and B must be rank 2, got \(try ctx.type(0)) and \(try ctx.type(1))") }
            let alpha = try ctx.attributes.float("alpha", 1), beta = try ctx.attributes.float("beta", 1)
            var y = try ctx.emit(.matmul, [a, b], [("transpose_a", .bool(try ctx.attributes.int("transA", 0) != 0)),
                                                  ("transpose_b", .bool(try ctx.attributes.int("transB", 0) != 0))])
            if alpha != 1 { y = try ctx.emit(.mul, [y, try ctx.constantNode(alpha)]) }
            if ctx.hasInput(2), beta != 0 {
                var c = try ctx.operand(2)
                if beta != 1 { c = try ctx.emit(.mul, [c, try ctx.constantNode(beta)]) }
                y = try ctx.emit(.add, [y, c])
            }
            try ctx.define(0, y)
        }
        t["MatMul"] = { ctx in try ctx.define(0, try matmul(ctx, try ctx.operand(0), try ctx.operand(1))) }
    }

    /// NumPy `matmul` semantics on Kiln ops.
    static func matmul(_ ctx: ImportContext, _ a0: String, _ b0: String) throws -> String {
        var a = a0, b = b0
        let ra = try ctx.dims(a).count, rb = try ctx.dims(b).count
        guard ra >= 1, rb >= 1 else { throw ConversionError("MatMul operands must have rank 1 or more") }
        // A vector operand is a one-row (left) or one-column (right) matrix, squeezed afterwards.
        if ra == 1 { a = try ctx.emit(.reshape, [a], [("shape", .ints([1] + (try ctx.dims(a))))]) }
        if rb == 1 { b = try ctx.emit(.reshape, [b], [("shape", .ints((try ctx.dims(b)) + [1]))]) }
        let da = try ctx.dims(a), db = try ctx.dims(b)
        let (m, k) = (da[da.count - 2], da[da.count - 1]), n = db[db.count - 1]
        guard db[db.count - 2] == k else { throw ConversionError("inner dimensions differ: \(try ctx.dims(a0)) × \(try ctx.dims(b0))") }
        let batchA = Array(da.dropLast(2)), batchB = Array(db.dropLast(2))
        let batch = try broadcastShape(batchA, batchB)
        var y: String
        if batch.isEmpty {
            y = try ctx.emit(.matmul, [a, b])
        } else if batchB.isEmpty {
            // Rows of every batch entry times one weight: one product.
            let rows = try ctx.emit(.reshape, [a], [("shape", .ints([batch.reduce(1, *) * m, k]))])
            y = try ctx.emit(.reshape, [try ctx.emit(.matmul, [rows, b])], [("shape", .ints(batch + [m, n]))])
        } else {
            let count = batch.reduce(1, *)
            func flattened(_ v: String, _ own: [Int], _ tail: [Int]) throws -> String {
                if own.isEmpty && count > 1 && batch.count == 1 { return v }  // rank 2: shared by every entry
                var v = v
                if own != batch { v = try ctx.emit(.broadcast_to, [v], [("shape", .ints(batch + tail))]) }
                return batch.count == 1 ? v : try ctx.emit(.reshape, [v], [("shape", .ints([count] + tail))])
            }
            let fa = try flattened(a, batchA, [m, k]), fb = try flattened(b, batchB, [k, n])
            y = try ctx.emit(.matmul, [fa, fb])
            if batch.count != 1 { y = try ctx.emit(.reshape, [y], [("shape", .ints(batch + [m, n]))]) }
        }
        if ra == 1 || rb == 1 {
            var dims = try ctx.dims(y)
            if rb == 1 { dims.removeLast() }
            if ra == 1 { dims.remove(at: dims.count - (rb == 1 ? 1 : 2)) }
            y = try ctx.emit(.reshape, [y], [("shape", .ints(dims))])
        }
        return y
    }
}
