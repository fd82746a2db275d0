import KilnIR

/// `GroupNormalization` (opset 18: scale and bias per group; 21: per channel) and
/// `MeanVarianceNormalization` (its function body: (x − E[x]) / (√(E[x²] − E[x]²) + 1e-9)).
enum GroupNormalizationConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["GroupNormalization"] = { ctx in
            let x = try ctx.operand(0), d = try ctx.shape(0)
            guard d.count >= 3, try ctx.type(0).dtype == .f32 else { throw ConversionError("input must be float [N, C, D1, …], got \(try ctx.type(0))") }
            let groups = try ctx.attributes.int("num_groups", 0)
            guard groups > 0, d[1] % groups == 0 else { throw ConversionError("num_groups \(groups) must be positive and divide the channels \(d[1])") }
            let eps = try ctx.attributes.float("epsilon", 1e-5)
            guard try ctx.attributes.int("stash_type", 1) == 1 else { throw ConversionError("stash_type other than float is not supported") }
            let spatial = d.dropFirst(2).reduce(1, *)
            let grouped = try ctx.emit(.reshape, [x], [("shape", .ints([d[0], groups, d[1] / groups * spatial]))])
            let mean = try ctx.emit(.reduce_mean, [grouped], [("axes", .ints([2])), ("keep_dims", .bool(true))])
            let centered = try ctx.emit(.sub, [grouped, mean])
            let variance = try ctx.emit(.reduce_mean, [try ctx.emit(.square, [centered])], [("axes", .ints([2])), ("keep_dims", .bool(true))])
            let normalized = try ctx.emit(.mul, [centered, try ctx.emit(.rsqrt, [try ctx.emit(.add, [variance, try ctx.constantNode(eps)])])])
            let channelShape = [1, d[1]] + Array(repeating: 1, count: d.count - 2)
            var y = try ctx.emit(.reshape, [normalized], [("shape", .ints(d))])
            for (i, op) in [(1, OpKind.mul), (2, OpKind.add)] {
                var p = try ctx.operand(i)
                let n = try ctx.kilnType(p).elementCount
                if n == groups && groups != d[1] {
                    // Opset 18: one value per group, spread over its channels.
                    let spread = try ctx.emit(.broadcast_to, [try ctx.emit(.reshape, [p], [("shape", .ints([groups, 1]))])], [("shape", .ints([groups, d[1] / groups]))])
                    p = spread
                } else if n != d[1] {
                    throw ConversionError("input \(i) must have \(d[1]) (or \(groups)) elements, has \(try ctx.type(i))")
                }
                y = try ctx.emit(op, [y, try ctx.emit(.reshape, [p], [("shape", .ints(channelShape))])])
            }
            try ctx.define(0, y)
        }
        t["MeanVarianceNormalization"] = { ctx in
            let x = try ctx.operand(0), rank = try ctx.rank(0)
            let axes = try (try ctx.attributes.ints("axes") ?? [0, 2, 3]).map { try ctx.axis($0, rank: rank) }.sorted()
            let attrs: [(String, AttrValue)] = [("axes", .ints(axes)), ("keep_dims", .bool(true))]
            let mean = try ctx.emit(.reduce_mean, [x], attrs)
            let meanSquare = try ctx.emit(.reduce_mean, [try ctx.emit(.square, [x])], attrs)
            let std = try ctx.emit(.sqrt, [try ctx.emit(.sub, [meanSquare, try ctx.emit(.square, [mean])])])
            let y = try ctx.emit(.div, [try ctx.emit(.sub, [x, mean]), try ctx.emit(.add, [std, try ctx.constantNode(1e-9)])])
            try ctx.define(0, y)
        }
    }
}
