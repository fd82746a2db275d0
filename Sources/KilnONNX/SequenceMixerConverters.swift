import KilnIR

/// The state-carrying sequence mixers of recent opsets, unrolled as ONNX's reference writes
/// them: `CausalConvWithState` (a depthwise causal 1-d convolution over the past state and the
/// input, as a sum over the k taps of shifted slices) and `LinearAttention` (the linear, gated,
/// delta and gated-delta state updates, one step per position, as `RecurrentConverters` unrolls
/// an LSTM).
enum SequenceMixerConverters {
    /// Steps are unrolled into the graph: longer sequences are refused rather than made huge.
    static let maximumSteps = 4096

    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["CausalConvWithState"] = causalConv
        t["LinearAttention"] = linearAttention
    }

    static func causalConv(_ ctx: ImportContext) throws {
        let xd = try ctx.shape(0), wd = try ctx.shape(1)
        guard xd.count == 3, wd.count == 3, wd[0] == xd[1], wd[1] == 1, wd[2] >= 1, try ctx.type(0).dtype == .f32 else {
            throw ConversionError("input must be float [batch, channels, length] and weight [channels, 1, k], got \(try ctx.type(0)) and \(try ctx.type(1))")
        }
        let activation = ctx.attributes.string("activation", "none")
        guard ["none", "silu", "swish"].contains(activation) else { throw ConversionError("activation '\(activation)' is not none, silu or swish") }
        let (b, c, length, k) = (xd[0], xd[1], xd[2], wd[2])
        guard k <= maximumSteps else { throw ConversionError("kernel size \(k) is beyond \(maximumSteps) taps") }
        var padded = try ctx.operand(0)
        if k > 1 {
            let past: String
            if ctx.hasInput(3) {
                past = try ctx.operand(3)
                guard try ctx.dims(past) == [b, c, k - 1] else { throw ConversionError("past_state must be [\(b), \(c), \(k - 1)], got \(try ctx.type(3))") }
            } else {
                past = try ctx.constantNode(0, shape: [b, c, k - 1])
            }
            padded = try ctx.emit(.concat, [past, padded], [("axis", .int(2))])
        }
        let w = try ctx.operand(1)
        var y: String? = nil
        for j in 0..<k {
            let tap = try ctx.emit(.slice, [padded], [("begin", .ints([0, 0, j])), ("end", .ints([b, c, j + length]))])
            let wj = try ctx.emit(.reshape, [try ctx.emit(.slice, [w], [("begin", .ints([0, 0, j])), ("end", .ints([c, 1, j + 1]))])], [("shape", .ints([1, c, 1]))])
            let term = try ctx.emit(.mul, [tap, wj])
            y = try y.map { try ctx.emit(.add, [$0, term]) } ?? term
        }
        guard var out = y else { throw ConversionError("weight has no taps") }
        if ctx.hasInput(2) {
            guard try ctx.shape(2) == [c] else { throw ConversionError("bias must be [\(c)], got \(try ctx.type(2))") }
            out = try ctx.emit(.add, [out, try ctx.emit(.reshape, [try ctx.operand(2)], [("shape", .ints([1, c, 1]))])])
        }
        if activation != "none" { out = try ctx.emit(.mul, [out, try ctx.emit(.sigmoid, [out])]) }
        try ctx.define(0, out)
        if ctx.wantsOutput(1) {
            guard k > 1 else { throw ConversionError("present_state of a kernel of size 1 is empty, which Kiln cannot represent") }
            let total = length + k - 1
            try ctx.define(1, try ctx.emit(.slice, [padded], [("begin", .ints([0, 0, total - (k - 1)])), ("end", .ints([b, c, total]))]))
        }
    }

    static func linearAttention(_ ctx: ImportContext) throws {
        let rule = ctx.attributes.string("update_rule", "gated_delta")
        guard ["linear", "gated", "delta", "gated_delta"].contains(rule) else { throw ConversionError("update_rule '\(rule)' is not linear, gated, delta or gated_delta") }
        let gating = rule.hasPrefix("gated"), delta = rule.hasSuffix("delta")
        guard gating == ctx.hasInput(4) else { throw ConversionError("update_rule '\(rule)' \(gating ? "needs" : "forbids") the decay input") }
        guard delta == ctx.hasInput(5) else { throw ConversionError("update_rule '\(rule)' \(delta ? "needs" : "forbids") the beta input") }
        let qHeads = try ctx.attributes.int("q_num_heads", 0), kvHeads = try ctx.attributes.int("kv_num_heads", 0)
        guard qHeads > 0, kvHeads > 0, qHeads % kvHeads == 0 else { throw ConversionError("q_num_heads \(qHeads) must be a positive multiple of kv_num_heads \(kvHeads)") }
        let qd = try ctx.shape(0), kd = try ctx.shape(1), vd = try ctx.shape(2)
        guard qd.count == 3, kd.count == 3, vd.count == 3, kd[0] == qd[0], vd[0] == qd[0], kd[1] == qd[1], vd[1] == qd[1],
              qd[2] % qHeads == 0, vd[2] % kvHeads == 0, kd[2] == qd[2] / qHeads * kvHeads, try ctx.type(0).dtype == .f32 else {
            throw ConversionError("query \(qd), key \(kd) and value \(vd) must be float [batch, time, heads·size] with matching heads")
        }
        let (b, steps, dk, dv) = (qd[0], qd[1], qd[2] / qHeads, vd[2] / kvHeads)
        guard steps <= maximumSteps else { throw ConversionError("sequence length \(steps) is beyond the \(maximumSteps) steps Kiln unrolls") }
        // [b, t, h·d] → [b, h, t, d].
        func heads(_ x: String, _ h: Int, _ d: Int) throws -> String {
            let split = try ctx.emit(.reshape, [x], [("shape", .ints([b, steps, h, d]))])
            return try ctx.emit(.transpose, [split], [("perm", .ints([0, 2, 1, 3]))])
        }
        let q = try heads(try ctx.operand(0), qHeads, dk), k = try heads(try ctx.operand(1), kvHeads, dk), v = try heads(try ctx.operand(2), kvHeads, dv)
        var decay: String? = nil, beta: String? = nil
        if gating {
            let dd = try ctx.shape(4)
            guard dd.count == 3, dd[0] == b, dd[1] == steps, dd[2] == kvHeads || dd[2] == kvHeads * dk else {
                throw ConversionError("decay must be [\(b), \(steps), \(kvHeads) or \(kvHeads * dk)], got \(try ctx.type(4))")
            }
            decay = try heads(try ctx.operand(4), kvHeads, dd[2] / kvHeads)   // [b, h, t, 1 or dk]
        }
        if delta {
            let bd = try ctx.shape(5)
            guard bd.count == 3, bd[0] == b, bd[1] == steps, bd[2] == kvHeads || bd[2] == 1 else {
                throw ConversionError("beta must be [\(b), \(steps), \(kvHeads) or 1], got \(try ctx.type(5))")
            }
            beta = try heads(try ctx.operand(5), bd[2], 1)   // [b, h or 1, t, 1]
        }
        var state: String
        if ctx.hasInput(3) {
            state = try ctx.operand(3)
            guard try ctx.dims(state) == [b, kvHeads, dk, dv] else { throw ConversionError("past_state must be [\(b), \(kvHeads), \(dk), \(dv)], got \(try ctx.type(3))") }
        } else {
            state = try ctx.constantNode(0, shape: [b, kvHeads, dk, dv])
        }
        let scaleAttr = try ctx.attributes.float("scale", 0)
        let scale = scaleAttr == 0 ? 1 / Double(dk).squareRoot() : scaleAttr
        let group = qHeads / kvHeads
        func step(_ x: String, _ i: Int) throws -> String {
            let d = try ctx.dims(x)
            return try ctx.emit(.slice, [x], [("begin", .ints([0, 0, i, 0])), ("end", .ints([d[0], d[1], i + 1, d[3]]))])  // [b, h, 1, d]
        }
        var outputs: [String] = []
        for i in 0..<steps {
            let kt = try step(k, i)                                   // [b, h, 1, dk]
            var vt = try step(v, i)                                   // [b, h, 1, dv]
            if let decay {
                let g = try ctx.emit(.exp, [try step(decay, i)])      // [b, h, 1, 1 or dk]
                state = try ctx.emit(.mul, [state, try ctx.emit(.transpose, [g], [("perm", .ints([0, 1, 3, 2]))])])
            }
            let kColumn = try ctx.emit(.transpose, [kt], [("perm", .ints([0, 1, 3, 2]))])   // [b, h, dk, 1]
            if let beta {
                // retrieved[m] = Σ_d state[d, m]·k[d]
                let retrieved = try MatmulConverters.matmul(ctx, kt, state)                 // [b, h, 1, dv]
                vt = try ctx.emit(.mul, [try step(beta, i), try ctx.emit(.sub, [vt, retrieved])])
            }
            state = try ctx.emit(.add, [state, try ctx.emit(.mul, [kColumn, vt])])
            var read = state
            if group > 1 {
                let five = try ctx.emit(.reshape, [state], [("shape", .ints([b, kvHeads, 1, dk, dv]))])
                read = try ctx.emit(.reshape, [try ctx.emit(.broadcast_to, [five], [("shape", .ints([b, kvHeads, group, dk, dv]))])], [("shape", .ints([b, qHeads, dk, dv]))])
            }
            let out = try MatmulConverters.matmul(ctx, try step(q, i), read)               // [b, hq, 1, dv]
            outputs.append(try ctx.emit(.mul, [out, try ctx.constantNode(scale)]))
        }
        let all = outputs.count == 1 ? outputs[0] : try ctx.emit(.concat, outputs, [("axis", .int(2))])   // [b, hq, t, dv]
        let y = try ctx.emit(.reshape, [try ctx.emit(.transpose, [all], [("perm", .ints([0, 2, 1, 3]))])], [("shape", .ints([b, steps, qHeads * dv]))])
        try ctx.define(0, y)
        if ctx.wantsOutput(1) { try ctx.define(1, state) }
    }
}
