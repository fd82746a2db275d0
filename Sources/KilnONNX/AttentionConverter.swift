import KilnIR

/// ONNX `Attention` (opsets 23–24, and the sliding window of later opsets) written out as Kiln
/// ops the way ONNX's reference computes it: 3-d inputs split into heads, Q and K each scaled
/// by √scale, the KV cache concatenated, the additive bias built from the mask, the causal
/// frontier, the sliding window and `nonpad_kv_seqlen`, key/value heads repeated for grouped
/// queries, softcap, softmax with fully masked rows zeroed, and the product with V.
/// What decides only the bias's shape (causal frontier, window) is computed at import time.
enum AttentionConverter {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["Attention"] = convert
    }

    static func convert(_ ctx: ImportContext) throws {
        let known: Set<String> = ["is_causal", "kv_num_heads", "q_num_heads", "qk_matmul_output_mode", "scale", "softcap",
                                  "softmax_precision", "left_window_size", "right_window_size"]
        if let other = ctx.attributes.names.subtracting(known).sorted().first {
            throw ConversionError("attribute '\(other)' is not supported")
        }
        let rank = try ctx.rank(0)
        guard rank == 3 || rank == 4, try ctx.rank(1) == rank, try ctx.rank(2) == rank else {
            throw ConversionError("Q, K and V must all be rank 3 or all rank 4, got \(try ctx.type(0)), \(try ctx.type(1)), \(try ctx.type(2))")
        }
        for i in 0..<3 where try ctx.type(i).dtype != .f32 {
            throw ConversionError("Q, K and V must be float, got \(try ctx.type(i))")
        }
        let precision = try ctx.attributes.int("softmax_precision", 1)
        // Kiln computes the softmax in f32: a float or double request is met within f32 rounding.
        guard precision == Int(ONNXDataType.float) || precision == 11 else {
            throw ConversionError("softmax_precision \(ONNXDataType.name(Int32(clamping: precision))) is not supported (Kiln computes in f32)")
        }
        let mode = try ctx.attributes.int("qk_matmul_output_mode", 0)
        guard (0...3).contains(mode) else { throw ConversionError("qk_matmul_output_mode \(mode) is not 0 to 3") }
        let left = try ctx.attributes.int("left_window_size", -1), right = try ctx.attributes.int("right_window_size", -1)
        guard left >= -1, right >= -1 else { throw ConversionError("window sizes must be -1 or nonnegative, got \(left) and \(right)") }
        let causal = try ctx.attributes.int("is_causal", 0) != 0
        let softcap = try ctx.attributes.float("softcap", 0)
        guard softcap.isFinite, softcap >= 0 else { throw ConversionError("softcap must be a finite value ≥ 0, got \(softcap)") }

        var q = try ctx.operand(0), k = try ctx.operand(1), v = try ctx.operand(2)
        if rank == 3 {
            guard ctx.attributes.has("q_num_heads"), ctx.attributes.has("kv_num_heads") else {
                throw ConversionError("3-d Q, K and V need the q_num_heads and kv_num_heads attributes")
            }
            let qHeads = try ctx.attributes.int("q_num_heads", 0), kvHeads = try ctx.attributes.int("kv_num_heads", 0)
            q = try splitHeads(ctx, q, heads: qHeads, "Q")
            k = try splitHeads(ctx, k, heads: kvHeads, "K")
            v = try splitHeads(ctx, v, heads: kvHeads, "V")
        } else if ctx.attributes.has("q_num_heads") || ctx.attributes.has("kv_num_heads") {
            throw ConversionError("q_num_heads and kv_num_heads must not be given for 4-d inputs")
        }
        let qd = try ctx.dims(q), kd = try ctx.dims(k), vd = try ctx.dims(v)
        let (batch, qHeads, qLength, headSize) = (qd[0], qd[1], qd[2], qd[3])
        guard kd[0] == batch, vd[0] == batch, kd[1] == vd[1], kd[2] == vd[2], kd[3] == headSize, headSize > 0 else {
            throw ConversionError("Q \(qd), K \(kd) and V \(vd) (batch, heads, sequence, head size) do not fit together")
        }
        let kvHeads = kd[1]
        guard kvHeads > 0, qHeads % kvHeads == 0 else {
            throw ConversionError("q heads \(qHeads) must be a multiple of the key/value heads \(kvHeads)")
        }

        // KV cache: present = concat(past, new) along the sequence (the unscaled keys).
        var presentK = k, presentV = v
        var pastLength = 0
        if ctx.hasInput(4) || ctx.hasInput(5) {
            guard ctx.hasInput(4), ctx.hasInput(5) else { throw ConversionError("past_key and past_value must be given together") }
            guard !ctx.hasInput(6) else { throw ConversionError("nonpad_kv_seqlen cannot be combined with past_key/past_value") }
            let pk = try ctx.operand(4), pv = try ctx.operand(5)
            let pkd = try ctx.dims(pk), pvd = try ctx.dims(pv)
            guard pkd.count == 4, pvd.count == 4, pkd[0] == batch, pkd[1] == kvHeads, pkd[3] == headSize,
                  pvd[0] == batch, pvd[1] == kvHeads, pvd[2] == pkd[2], pvd[3] == vd[3] else {
                throw ConversionError("past_key \(pkd) and past_value \(pvd) do not fit K \(kd) and V \(vd)")
            }
            pastLength = pkd[2]
            presentK = try ctx.emit(.concat, [pk, k], [("axis", .int(2))])
            presentV = try ctx.emit(.concat, [pv, v], [("axis", .int(2))])
        }
        // Q and K are each scaled by √scale (in f32), as the reference and the function body do.
        let scale = ctx.attributes.has("scale") ? try ctx.attributes.float("scale", 0) : 1 / Double(headSize).squareRoot()
        guard scale.isFinite, scale > 0 else { throw ConversionError("scale must be a finite value > 0, got \(scale)") }
        let root = Double(Float(scale.squareRoot()))
        q = try ctx.emit(.mul, [q, try ctx.constantNode(root)])
        k = try ctx.emit(.mul, [presentK, try ctx.constantNode(root)])
        v = presentV
        let kvLength = try ctx.dims(k)[2]
        // The frontier and position tables are q × kv values built at import.
        guard qLength.multipliedReportingOverflow(by: kvLength).partialValue <= ConstantFolder.budget, qLength <= ConstantFolder.budget, kvLength <= ConstantFolder.budget else {
            throw ConversionError("\(qLength) queries × \(kvLength) keys is beyond the \(ConstantFolder.budget) mask values Kiln builds at import")
        }

        let bias = try attentionBias(ctx, batch: batch, qLength: qLength, kvLength: kvLength, pastLength: pastLength,
                                     causal: causal, left: left, right: right)

        // Grouped queries: each key/value head serves qHeads / kvHeads consecutive query heads.
        if qHeads != kvHeads {
            k = try repeatHeads(ctx, k, qHeads / kvHeads)
            v = try repeatHeads(ctx, v, qHeads / kvHeads)
        }
        let kT = try ctx.emit(.transpose, [k], [("perm", .ints([0, 1, 3, 2]))])
        var logits = try MatmulConverters.matmul(ctx, q, kT)
        if softcap > 0 {
            let c = try ctx.constantNode(softcap)
            logits = try ctx.emit(.mul, [try ctx.emit(.tanh, [try ctx.emit(.div, [logits, c])]), c])
        }
        var qkOutput = logits
        var probabilities: String
        if let bias {
            let withBias = try ctx.emit(.add, [logits, bias.value])
            if mode == 2 { qkOutput = withBias }
            // A row whose bias is −∞ everywhere has no key to attend: it is 0 (softmax over a
            // row of zeros in its place avoids −∞ − (−∞)).
            let masked = try ctx.emit(.equal, [try ctx.emit(.reduce_max, [bias.value], [("axes", .ints([bias.rank - 1])), ("keep_dims", .bool(true))]),
                                               try ctx.constantNode(-.infinity)])
            let safe = try ctx.emit(.select, [masked, try ctx.constantNode(0), withBias])
            probabilities = try ctx.emit(.softmax, [safe], [("axis", .int(-1))])
            probabilities = try ctx.emit(.select, [masked, try ctx.constantNode(0), probabilities])
        } else {
            probabilities = try ctx.emit(.softmax, [logits], [("axis", .int(-1))])
        }
        if mode == 3 { qkOutput = probabilities }
        var y = try MatmulConverters.matmul(ctx, probabilities, v)
        if rank == 3 {
            let yd = try ctx.dims(y)
            y = try ctx.emit(.reshape, [try ctx.emit(.transpose, [y], [("perm", .ints([0, 2, 1, 3]))])],
                             [("shape", .ints([yd[0], yd[2], yd[1] * yd[3]]))])
        }
        try ctx.define(0, y)
        if ctx.wantsOutput(1) { try ctx.define(1, presentK) }
        if ctx.wantsOutput(2) { try ctx.define(2, presentV) }
        if ctx.wantsOutput(3) {
            // The bias broadcast may have grown the logits' shape (a mask with a larger batch).
            try ctx.define(3, qkOutput)
        }
    }

    /// [b, s, heads·d] → [b, heads, s, d].
    private static func splitHeads(_ ctx: ImportContext, _ x: String, heads: Int, _ what: String) throws -> String {
        let d = try ctx.dims(x)
        guard heads > 0, d[2] % heads == 0 else { throw ConversionError("\(what)'s hidden size \(d[2]) is not a multiple of \(heads) heads") }
        let split = try ctx.emit(.reshape, [x], [("shape", .ints([d[0], d[1], heads, d[2] / heads]))])
        return try ctx.emit(.transpose, [split], [("perm", .ints([0, 2, 1, 3]))])
    }

    /// [b, h, s, d] → [b, h·r, s, d], each head repeated r times in place (h0 h0 h1 h1 …).
    private static func repeatHeads(_ ctx: ImportContext, _ x: String, _ r: Int) throws -> String {
        let d = try ctx.dims(x)
        let (heads, product) = d[1].multipliedReportingOverflow(by: r)
        guard !product else { throw ConversionError("too many heads") }
        let five = try ctx.emit(.reshape, [x], [("shape", .ints([d[0], d[1], 1, d[2], d[3]]))])
        let wide = try ctx.emit(.broadcast_to, [five], [("shape", .ints([d[0], d[1], r, d[2], d[3]]))])
        return try ctx.emit(.reshape, [wide], [("shape", .ints([d[0], heads, d[2], d[3]]))])
    }

    /// The additive bias (0 or −∞ and the float mask's values), or nil when nothing masks.
    private static func attentionBias(_ ctx: ImportContext, batch: Int, qLength: Int, kvLength: Int, pastLength: Int,
                                      causal: Bool, left: Int, right: Int) throws -> (value: String, rank: Int)? {
        var bias: String? = nil
        func add(_ term: String) throws { bias = try bias.map { try ctx.emit(.add, [$0, term]) } ?? term }
        if ctx.hasInput(3) { try add(try maskBias(ctx, kvLength: kvLength)) }
        // The frontier: query i (at absolute position offset + i) sees key j when j ≤ i + offset
        // (causal) and within the window; offset is the cache length, or per batch
        // nonpad_kv_seqlen − q_length for an external cache.
        let windowed = left >= 0 || right >= 0
        if causal || windowed {
            if ctx.hasInput(6) {
                let seqlen = try nonpadLengths(ctx, batch: batch)
                let offset = try ctx.emit(.sub, [seqlen, try ctx.constantNode(Double(qLength), dtype: .i32)])
                // diff[b, i, j] = i + offset[b] − j.
                let ij = try ctx.stateTensor("attention_diff", ConstantTensor(shape: [qLength, kvLength], values: (0..<qLength).flatMap { i in (0..<kvLength).map { j in Double(i - j) } }, isInteger: true))
                let diff = try ctx.emit(.add, [ij, try ctx.emit(.reshape, [offset], [("shape", .ints([batch, 1, 1]))])])
                var allowed: String? = nil
                func allow(_ c: String) throws { allowed = try allowed.map { try ctx.emit(.min, [$0, c]) } ?? c }
                if causal { try allow(try ctx.emit(.greater_equal, [diff, try ctx.constantNode(0, dtype: .i32)])) }
                if left >= 0 { try allow(try ctx.emit(.less_equal, [diff, try ctx.constantNode(Double(left), dtype: .i32)])) }
                if right >= 0 { try allow(try ctx.emit(.greater_equal, [diff, try ctx.constantNode(Double(-right), dtype: .i32)])) }
                guard let allowed else { return nil }
                let term = try ctx.emit(.select, [allowed, try ctx.constantNode(0), try ctx.constantNode(-.infinity)])
                try add(try ctx.emit(.reshape, [term], [("shape", .ints([batch, 1, qLength, kvLength]))]))
            } else {
                var values: [Double] = []
                values.reserveCapacity(qLength * kvLength)
                for i in 0..<qLength {
                    for j in 0..<kvLength {
                        let diff = i + pastLength - j
                        var ok = true
                        if causal && diff < 0 { ok = false }
                        if left >= 0 && diff > left { ok = false }
                        if right >= 0 && -diff > right { ok = false }
                        values.append(ok ? 0 : -.infinity)
                    }
                }
                try add(try ctx.stateTensor("attention_frontier", ConstantTensor(shape: [qLength, kvLength], values: values, isInteger: false)))
            }
        }
        if ctx.hasInput(6) {
            // Keys at or past a batch entry's nonpad length are padding.
            let seqlen = try ctx.emit(.reshape, [try nonpadLengths(ctx, batch: batch)], [("shape", .ints([batch, 1, 1, 1]))])
            let positions = try ctx.stateTensor("attention_positions", ConstantTensor(shape: [1, 1, 1, kvLength], values: (0..<kvLength).map(Double.init), isInteger: true))
            let valid = try ctx.emit(.less, [positions, seqlen])
            try add(try ctx.emit(.select, [valid, try ctx.constantNode(0), try ctx.constantNode(-.infinity)]))
        }
        guard let bias else { return nil }
        return (bias, try ctx.dims(bias).count)
    }

    private static func nonpadLengths(_ ctx: ImportContext, batch: Int) throws -> String {
        let s = try ctx.operand(6)
        guard try ctx.kilnType(s).dtype == .i32, try ctx.dims(s) == [batch] else {
            throw ConversionError("nonpad_kv_seqlen must be integers of shape [\(batch)], got \(try ctx.type(6))")
        }
        return s
    }

    /// attn_mask as an additive bias: a boolean mask (i32 in Kiln) becomes 0 / −∞; a mask shorter
    /// than the keys is padded with −∞ (masked) to the key length.
    private static func maskBias(_ ctx: ImportContext, kvLength: Int) throws -> String {
        var mask = try ctx.operand(3)
        let md = try ctx.dims(mask)
        guard (1...4).contains(md.count), let last = md.last, last <= kvLength else {
            throw ConversionError("attn_mask \(try ctx.type(3)) must have rank 1 to 4 and at most \(kvLength) keys")
        }
        if try ctx.kilnType(mask).dtype == .i32 {
            mask = try ctx.emit(.select, [mask, try ctx.constantNode(0), try ctx.constantNode(-.infinity)])
        }
        if last < kvLength {
            var fill = md
            fill[md.count - 1] = kvLength - last
            mask = try ctx.emit(.concat, [mask, try ctx.constantNode(-.infinity, shape: fill)], [("axis", .int(md.count - 1))])
        }
        return mask
    }
}
