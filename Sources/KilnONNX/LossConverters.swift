import KilnIR

/// `NegativeLogLikelihoodLoss`, `SoftmaxCrossEntropyLoss` (any rank, class weights,
/// `ignore_index`, every reduction) and `OneHot`. The plain case — [N, C] scores, mean, no
/// weights — is Kiln's own `softmax_cross_entropy`, what `kiln export` writes for it.
enum LossConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["NegativeLogLikelihoodLoss"] = { ctx in
            try ctx.define(0, try negativeLogLikelihood(ctx, try ctx.operand(0), target: try ctx.operand(1)))
        }
        t["SoftmaxCrossEntropyLoss"] = { ctx in
            let reduction = ctx.attributes.string("reduction", "mean")
            if reduction == "mean", !ctx.hasInput(2), !ctx.attributes.has("ignore_index"), !ctx.wantsOutput(1),
               try ctx.rank(0) == 2, try ctx.rank(1) == 1 {
                var labels = try ctx.operand(1)
                if try ctx.kilnType(labels).dtype != .i32 { labels = try ctx.emit(.cast, [labels], [("dtype", .dtype(.i32))]) }
                try ctx.define(0, try ctx.emit(.softmax_cross_entropy, [try ctx.operand(0), labels]))
                return
            }
            let logProb = try ctx.emit(.log_softmax, [try ctx.operand(0)], [("axis", .int(1))])
            try ctx.define(0, try negativeLogLikelihood(ctx, logProb, target: try ctx.operand(1)))
            try ctx.define(1, logProb)
        }
        t["OneHot"] = { ctx in
            let depth = try ctx.requiredConstant(1, "depth").clampedIntegers("depth")[0]
            guard depth > 0, depth <= 1 << 24 else { throw ConversionError("depth \(depth) is not in 1…2^24") }
            let values = try ctx.requiredConstant(2, "values")
            let rank = try ctx.rank(0)
            guard values.values == [0, 1], try ctx.axis(try ctx.attributes.int("axis", -1), rank: rank + 1) == rank else {
                throw ConversionError("only values [0, 1] on the last axis are supported")
            }
            var indices = try ctx.operand(0)
            if try ctx.kilnType(indices).dtype != .i32 { indices = try ctx.emit(.cast, [indices], [("dtype", .dtype(.i32))]) }
            try ctx.define(0, try ctx.emit(.one_hot, [indices], [("depth", .int(depth))]))
        }
    }

    /// −input[n, target[n, …], …] · weight[target], zero where target = ignore_index, reduced.
    static func negativeLogLikelihood(_ ctx: ImportContext, _ input: String, target rawTarget: String) throws -> String {
        let dims = try ctx.dims(input)
        guard dims.count >= 2 else { throw ConversionError("input must be [N, C, …]") }
        let classes = dims[1]
        var target = rawTarget
        if try ctx.kilnType(target).dtype != .i32 { target = try ctx.emit(.cast, [target], [("dtype", .dtype(.i32))]) }
        var keep: String?
        if ctx.attributes.has("ignore_index") {
            let ignored = try ctx.constantNode(Double(try ctx.attributes.int("ignore_index", 0)), dtype: .i32)
            let k = try ctx.emit(.not_equal, [target, ignored])
            keep = k
            target = try ctx.emit(.mul, [target, k])  // an ignored position reads class 0, then is zeroed
        }
        // The target's class picked from axis 1 by a one-hot mask.
        var hot = try ctx.emit(.one_hot, [target], [("depth", .int(classes))])
        let r = dims.count
        if r > 2 { hot = try ctx.emit(.transpose, [hot], [("perm", .ints([0, r - 1] + Array(1..<(r - 1))))]) }
        var loss = try ctx.emit(.neg, [try ctx.emit(.reduce_sum, [try ctx.emit(.mul, [input, hot])], [("axes", .ints([1]))])])
        var weight: String?
        if ctx.hasInput(2) {
            weight = try ctx.emit(.gather, [try ctx.operand(2), target])
        }
        let keepF = try keep.map { try ctx.emit(.cast, [$0], [("dtype", .dtype(.f32))]) }
        let factor: String? = try {
            switch (weight, keepF) {
            case let (w?, k?): return try ctx.emit(.mul, [w, k])
            case let (w?, nil): return w
            case let (nil, k?): return k
            default: return nil
            }
        }()
        if let factor { loss = try ctx.emit(.mul, [loss, factor]) }
        let all = Array(0..<(r - 1))
        switch ctx.attributes.string("reduction", "mean") {
        case "none": return loss
        case "sum": return try ctx.emit(.reduce_sum, [loss], [("axes", .ints(all))])
        case "mean":
            let total = try ctx.emit(.reduce_sum, [loss], [("axes", .ints(all))])
            guard let factor else { return try ctx.emit(.reduce_mean, [loss], [("axes", .ints(all))]) }
            return try ctx.emit(.div, [total, try ctx.emit(.reduce_sum, [factor], [("axes", .ints(all))])])
        case let other: throw ConversionError("reduction '\(other)' is not none, sum or mean")
        }
    }
}
