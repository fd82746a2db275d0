import KilnIR

/// ONNX `TopK` with a known k: k rounds of `argmax` along the axis (moved last), each taking
/// the maximum and masking its position with −∞ for the next round. Ties go to the lower
/// index, as ONNX requires; `largest` = 0 negates the input; integer inputs are ranked in f32
/// (exact below 2^24). Values and indices come out sorted (which `sorted` = 0 allows too).
enum TopKConverter {
    /// Rounds are unrolled into the graph: k beyond this is refused rather than made huge.
    static let maximumK = 1024

    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["TopK"] = convert
    }

    static func convert(_ ctx: ImportContext) throws {
        let dims = try ctx.shape(0), rank = dims.count
        guard rank >= 1 else { throw ConversionError("X must have rank 1 or more") }
        let axis = try ctx.axis(try ctx.attributes.int("axis", -1), rank: rank)
        let k: Int
        if ctx.hasInput(1) { k = try ctx.requiredConstant(1, "K").integers("K").first ?? -1 }
        else { k = try ctx.attributes.int("k", -1) }  // opset 1–9: an attribute
        let n = dims[axis]
        guard k >= 1, k <= n else { throw ConversionError("k \(k) must be between 1 and the axis size \(n) (k = 0 makes an empty output, which Kiln cannot represent)") }
        guard k <= maximumK else { throw ConversionError("k \(k) is not supported (at most \(maximumK): TopK is unrolled into k rounds)") }
        let largest = try ctx.attributes.int("largest", 1) != 0
        var x = try ctx.operand(0)
        let integer = try ctx.kilnType(x).dtype == .i32
        if integer { x = try ctx.emit(.cast, [x], [("dtype", .dtype(.f32))]) }
        var perm = Array(0..<rank)
        perm.remove(at: axis); perm.append(axis)
        if axis != rank - 1 { x = try ctx.emit(.transpose, [x], [("perm", .ints(perm))]) }
        if !largest { x = try ctx.emit(.neg, [x]) }
        let lead = perm.dropLast().map { dims[$0] }
        var values: [String] = [], indices: [String] = []
        var current = x
        for round in 0..<k {
            let index = try ctx.emit(.argmax, [current], [("axis", .int(rank - 1))])
            let value = try ctx.emit(.reduce_max, [current], [("axes", .ints([rank - 1]))])
            values.append(try ctx.emit(.reshape, [value], [("shape", .ints(lead + [1]))]))
            indices.append(try ctx.emit(.reshape, [index], [("shape", .ints(lead + [1]))]))
            if round + 1 < k {
                let hot = try ctx.emit(.one_hot, [index], [("depth", .int(n))])
                current = try ctx.emit(.select, [hot, try ctx.constantNode(-Double.infinity), current])
            }
        }
        func finish(_ parts: [String], negate: Bool, cast: Bool) throws -> String {
            var y = parts.count == 1 ? parts[0] : try ctx.emit(.concat, parts, [("axis", .int(rank - 1))])
            if negate { y = try ctx.emit(.neg, [y]) }
            if cast { y = try ctx.emit(.cast, [y], [("dtype", .dtype(.i32))]) }
            if axis != rank - 1 {
                var inverse = Array(repeating: 0, count: rank)
                for (i, p) in perm.enumerated() { inverse[p] = i }
                y = try ctx.emit(.transpose, [y], [("perm", .ints(inverse))])
            }
            return y
        }
        try ctx.define(0, try finish(values, negate: !largest, cast: integer))
        if ctx.wantsOutput(1) { try ctx.define(1, try finish(indices, negate: false, cast: false)) }
    }
}
