import KilnIR

/// `QuantizeLinear` and `DequantizeLinear` for the 8- and 16-bit integer types: scales and
/// zero points per tensor, per axis or per block along `axis`. Quantizing rounds half to even
/// and saturates to the range of the zero point's ONNX type (or `output_dtype`); the result is
/// Kiln's i32 holding that type's values. Float8, 4-bit and 2-bit types are refused.
enum QuantizationConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["DequantizeLinear"] = { ctx in
            let x = try ctx.operand(0)
            var y = try ctx.emit(.cast, [x], [("dtype", .dtype(.f32))])
            if ctx.hasInput(2) {
                let zero = try ctx.emit(.cast, [try spread(ctx, 2)], [("dtype", .dtype(.f32))])
                y = try ctx.emit(.sub, [y, zero])
            }
            guard try ctx.type(1).dtype == .f32 else { throw ConversionError("x_scale must be float, got \(try ctx.type(1))") }
            try ctx.define(0, try ctx.emit(.mul, [y, try spread(ctx, 1)]))
        }
        t["DynamicQuantizeLinear"] = dynamic
        t["QuantizeLinear"] = { ctx in
            guard try ctx.type(0).dtype == .f32, try ctx.type(1).dtype == .f32 else { throw ConversionError("x and y_scale must be float") }
            var code = Int32(clamping: try ctx.attributes.int("output_dtype", 0))
            if code == 0 { code = ctx.hasInput(2) ? try ctx.value(2).onnxType ?? 0 : ONNXDataType.uint8 }
            let ranges: [Int32: (Double, Double)] = [ONNXDataType.uint8: (0, 255), ONNXDataType.int8: (-128, 127),
                                                     ONNXDataType.uint16: (0, 65535), ONNXDataType.int16: (-32768, 32767)]
            guard let (low, high) = ranges[code] else {
                throw ConversionError("quantizing to \(code == 0 ? "the zero point's type (unknown: a computed value)" : ONNXDataType.name(code)) is not supported (uint8, int8, uint16, int16)")
            }
            var y = try ArithmeticConverters.roundHalfEven(ctx, try ctx.emit(.div, [try ctx.operand(0), try spread(ctx, 1)]))
            if ctx.hasInput(2) { y = try ctx.emit(.add, [y, try ctx.emit(.cast, [try spread(ctx, 2)], [("dtype", .dtype(.f32))])]) }
            y = try ctx.emit(.min, [try ctx.emit(.max, [y, try ctx.constantNode(low)]), try ctx.constantNode(high)])
            try ctx.define(0, try ctx.emit(.cast, [y], [("dtype", .dtype(.i32))]))
        }
    }

    /// DynamicQuantizeLinear: uint8 with scale (max(0, max x) − min(0, min x)) / 255 and zero
    /// point saturate(round(−min(0, min x) / scale)), as its function body computes them.
    static func dynamic(_ ctx: ImportContext) throws {
        let x = try ctx.operand(0), rank = try ctx.rank(0)
        guard try ctx.type(0).dtype == .f32 else { throw ConversionError("x must be float, got \(try ctx.type(0))") }
        let all: [(String, AttrValue)] = [("axes", .ints(Array(0..<rank))), ("keep_dims", .bool(false))]
        let zero = try ctx.constantNode(0)
        let high = try ctx.emit(.max, [try ctx.emit(.reduce_max, [x], all), zero])
        let low = try ctx.emit(.min, [try ctx.emit(.neg, [try ctx.emit(.reduce_max, [try ctx.emit(.neg, [x])], all)]), zero])
        let scale = try ctx.emit(.div, [try ctx.emit(.sub, [high, low]), try ctx.constantNode(255)])
        func saturated(_ v: String) throws -> String {
            try ctx.emit(.min, [try ctx.emit(.max, [v, zero]), try ctx.constantNode(255)])
        }
        let point = try saturated(try ArithmeticConverters.roundHalfEven(ctx, try ctx.emit(.div, [try ctx.emit(.sub, [zero, low]), scale])))
        let y = try saturated(try ctx.emit(.add, [try ArithmeticConverters.roundHalfEven(ctx, try ctx.emit(.div, [x, scale])), point]))
        try ctx.define(0, try ctx.emit(.cast, [y], [("dtype", .dtype(.i32))]))
        try ctx.define(1, scale)
        try ctx.define(2, try ctx.emit(.cast, [point], [("dtype", .dtype(.i32))]))
    }

    /// Input `i` (a scale or zero point) shaped to broadcast against x: a scalar as is, a vector
    /// along `axis`, or a blocked tensor repeated `block_size` times along `axis` and cut to x.
    static func spread(_ ctx: ImportContext, _ i: Int) throws -> String {
        let xd = try ctx.shape(0), d = try ctx.shape(i), v = try ctx.operand(i)
        if d.reduce(1, *) == 1 { return try ctx.emit(.reshape, [v], [("shape", .ints([]))]) }
        let axis = try ctx.axis(try ctx.attributes.int("axis", 1), rank: xd.count)
        let block = try ctx.attributes.int("block_size", 0)
        if block <= 0 {
            guard d == [xd[axis]] else { throw ConversionError("input \(i) of shape \(d) must be a scalar or [\(xd[axis])] along axis \(axis)") }
            var shape = Array(repeating: 1, count: xd.count)
            shape[axis] = xd[axis]
            return try ctx.emit(.reshape, [v], [("shape", .ints(shape))])
        }
        guard block <= xd[axis] else { throw ConversionError("block_size \(block) is larger than axis \(axis) of \(xd)") }
        let blocks = (xd[axis] + block - 1) / block
        var expected = xd
        expected[axis] = blocks
        guard d == expected else { throw ConversionError("input \(i) of shape \(d) must be \(expected) for blocks of \(block) along axis \(axis)") }
        // [.., blocks, ..] → [.., blocks, 1, ..] → broadcast [.., blocks, block, ..] → [.., blocks·block, ..] → cut to x.
        var split = d
        split.insert(1, at: axis + 1)
        var wide = split
        wide[axis + 1] = block
        var merged = d
        merged[axis] = blocks * block
        var y = try ctx.emit(.reshape, [v], [("shape", .ints(split))])
        y = try ctx.emit(.broadcast_to, [y], [("shape", .ints(wide))])
        y = try ctx.emit(.reshape, [y], [("shape", .ints(merged))])
        if merged[axis] != xd[axis] {
            y = try ctx.emit(.slice, [y], [("begin", .ints(Array(repeating: 0, count: xd.count))), ("end", .ints(xd))])
        }
        return y
    }
}
