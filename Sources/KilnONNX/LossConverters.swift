import KilnIR

/// `SoftmaxCrossEntropyLoss` and `OneHot`: what `kiln export` writes for Kiln's loss and
/// one-hot ops, so that exported training graphs read back.
enum LossConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["SoftmaxCrossEntropyLoss"] = { ctx in
            guard ctx.attributes.string("reduction", "mean") == "mean", !ctx.hasInput(2), !ctx.attributes.has("ignore_index"), !ctx.wantsOutput(1) else {
                throw ConversionError("only reduction='mean' without weights, ignore_index or log_prob output is supported")
            }
            guard try ctx.rank(0) == 2, try ctx.rank(1) == 1 else { throw ConversionError("only scores [N, C] with labels [N] are supported") }
            try ctx.define(0, try ctx.emit(.softmax_cross_entropy, [try ctx.operand(0), try ctx.operand(1)]))
        }
        t["OneHot"] = { ctx in
            let depth = try ctx.requiredConstant(1, "depth").scalar("depth")
            let values = try ctx.requiredConstant(2, "values")
            let rank = try ctx.rank(0)
            guard values.values == [0, 1], try ctx.axis(try ctx.attributes.int("axis", -1), rank: rank + 1) == rank else {
                throw ConversionError("only values [0, 1] on the last axis are supported")
            }
            var indices = try ctx.operand(0)
            if try ctx.kilnType(indices).dtype != .i32 { indices = try ctx.emit(.cast, [indices], [("dtype", .dtype(.i32))]) }
            try ctx.define(0, try ctx.emit(.one_hot, [indices], [("depth", .int(Int(depth)))]))
        }
    }
}
