import KilnIR

/// `RotaryEmbedding` (opset 23) as ONNX's reference computes it — positions gathered from the
/// cos/sin caches (a row `gather`, run-time position_ids included), the rotated part split in
/// halves or interleaved pairs, rotated, and put back — and `SwiGLU` (a·σ(αa)·b).
enum RotaryConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["RotaryEmbedding"] = rotary
        t["SwiGLU"] = { ctx in
            let a = try ctx.operand(0), b = try ctx.operand(1)
            guard try ctx.type(0) == ctx.type(1), try ctx.type(0).dtype == .f32 else {
                throw ConversionError("A and B must be float tensors of one shape (no broadcasting), got \(try ctx.type(0)) and \(try ctx.type(1))")
            }
            let alpha = try ctx.attributes.float("alpha", 1)
            let gate = try ctx.emit(.sigmoid, [try ctx.emit(.mul, [a, try ctx.constantNode(alpha)])])
            try ctx.define(0, try ctx.emit(.mul, [try ctx.emit(.mul, [a, gate]), b]))
        }
    }

    static func rotary(_ ctx: ImportContext) throws {
        let original = try ctx.shape(0)
        guard original.count == 3 || original.count == 4, try ctx.type(0).dtype == .f32 else {
            throw ConversionError("input must be a float tensor of rank 3 or 4, got \(try ctx.type(0))")
        }
        var x = try ctx.operand(0)
        if original.count == 4 {
            x = try ctx.emit(.transpose, [x], [("perm", .ints([0, 2, 1, 3]))])
        } else {
            let heads = try ctx.attributes.int("num_heads", 0)
            guard heads > 0, original[2] % heads == 0 else { throw ConversionError("num_heads \(heads) must be given and divide the hidden size \(original[2])") }
            x = try ctx.emit(.reshape, [x], [("shape", .ints([original[0], original[1], heads, original[2] / heads]))])
        }
        let d = try ctx.dims(x)   // [batch, sequence, heads, head size]
        var rotated = try ctx.attributes.int("rotary_embedding_dim", 0)
        if rotated == 0 { rotated = d[3] }
        guard rotated > 0, rotated <= d[3], rotated % 2 == 0 else {
            throw ConversionError("rotary_embedding_dim \(rotated) must be even and at most the head size \(d[3])")
        }
        let half = rotated / 2
        var cos = try ctx.operand(1), sin = try ctx.operand(2)
        if ctx.hasInput(3) {
            let positions = try ctx.operand(3)
            guard try ctx.kilnType(positions).dtype == .i32, try ctx.dims(positions) == [d[0], d[1]] else {
                throw ConversionError("position_ids must be integers of shape [\(d[0]), \(d[1])], got \(try ctx.type(3))")
            }
            guard try ctx.rank(1) == 2, try ctx.rank(2) == 2 else { throw ConversionError("with position_ids the caches must be rank 2 [positions, \(half)]") }
            cos = try ctx.emit(.gather, [cos, positions])
            sin = try ctx.emit(.gather, [sin, positions])
        }
        for c in [cos, sin] where try ctx.dims(c) != [d[0], d[1], half] {
            throw ConversionError("the cos/sin caches give \(try ctx.dims(c)) per position, not [\(d[0]), \(d[1]), \(half)]")
        }
        cos = try ctx.emit(.reshape, [cos], [("shape", .ints([d[0], d[1], 1, half]))])
        sin = try ctx.emit(.reshape, [sin], [("shape", .ints([d[0], d[1], 1, half]))])
        let interleaved = try ctx.attributes.int("interleaved", 0) != 0
        var plan1 = try SlicePlan.all(d), plan2 = plan1
        plan1.indices[3] = interleaved ? Array(stride(from: 0, to: rotated, by: 2)) : Array(0..<half)
        plan2.indices[3] = interleaved ? Array(stride(from: 1, to: rotated, by: 2)) : Array(half..<rotated)
        let x1 = try LayoutConverters.take(ctx, x, plan1), x2 = try LayoutConverters.take(ctx, x, plan2)
        let real = try ctx.emit(.sub, [try ctx.emit(.mul, [cos, x1]), try ctx.emit(.mul, [sin, x2])])
        let imag = try ctx.emit(.add, [try ctx.emit(.mul, [sin, x1]), try ctx.emit(.mul, [cos, x2])])
        var y: String
        if interleaved {
            var pairs: [String] = []
            for v in [real, imag] { pairs.append(try ctx.emit(.reshape, [v], [("shape", .ints([d[0], d[1], d[2], half, 1]))])) }
            y = try ctx.emit(.reshape, [try ctx.emit(.concat, pairs, [("axis", .int(4))])], [("shape", .ints([d[0], d[1], d[2], rotated]))])
        } else {
            y = try ctx.emit(.concat, [real, imag], [("axis", .int(3))])
        }
        if rotated < d[3] {
            var rest = try SlicePlan.all(d)
            rest.indices[3] = Array(rotated..<d[3])
            y = try ctx.emit(.concat, [y, try LayoutConverters.take(ctx, x, rest)], [("axis", .int(3))])
        }
        y = original.count == 4 ? try ctx.emit(.transpose, [y], [("perm", .ints([0, 2, 1, 3]))])
                                : try ctx.emit(.reshape, [y], [("shape", .ints(original))])
        try ctx.define(0, y)
    }
}
