import KilnIR

/// `DepthToSpace`, `SpaceToDepth` (a reshape, a transpose, a reshape — exact) and `EyeLike`
/// (its value depends only on the input's static shape: a constant).
enum RearrangeConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["DepthToSpace"] = { ctx in
            let d = try ctx.shape(0), b = try ctx.attributes.int("blocksize", 0)
            guard d.count == 4 else { throw ConversionError("input must be rank 4 [N, C, H, W], got \(try ctx.type(0))") }
            guard b > 0, b <= 1 << 20, d[1] % (b * b) == 0 else { throw ConversionError("blocksize \(b) must be positive and its square divide the channels \(d[1])") }
            let (n, c, h, w) = (d[0], d[1] / (b * b), d[2], d[3])
            let crd = ctx.attributes.string("mode", "DCR")
            guard crd == "DCR" || crd == "CRD" else { throw ConversionError("mode '\(crd)' is not DCR or CRD") }
            let split = crd == "DCR" ? [n, b, b, c, h, w] : [n, c, b, b, h, w]
            let perm = crd == "DCR" ? [0, 3, 4, 1, 5, 2] : [0, 1, 4, 2, 5, 3]
            let x = try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints(split))])
            let moved = try ctx.emit(.transpose, [x], [("perm", .ints(perm))])
            try ctx.define(0, try ctx.emit(.reshape, [moved], [("shape", .ints([n, c, h * b, w * b]))]))
        }
        t["SpaceToDepth"] = { ctx in
            let d = try ctx.shape(0), b = try ctx.attributes.int("blocksize", 0)
            guard d.count == 4 else { throw ConversionError("input must be rank 4 [N, C, H, W], got \(try ctx.type(0))") }
            guard b > 0, d[2] % b == 0, d[3] % b == 0 else { throw ConversionError("blocksize \(b) must be positive and divide the height \(d[2]) and width \(d[3])") }
            let (n, c, h, w) = (d[0], d[1], d[2] / b, d[3] / b)
            let x = try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints([n, c, h, b, w, b]))])
            // DCR: channel (bh·b + bw)·C + c; CRD: c·b² + bh·b + bw.
            let mode = ctx.attributes.string("mode", "DCR")
            guard mode == "DCR" || mode == "CRD" else { throw ConversionError("mode '\(mode)' is not DCR or CRD") }
            let moved = try ctx.emit(.transpose, [x], [("perm", .ints(mode == "DCR" ? [0, 3, 5, 1, 2, 4] : [0, 1, 3, 5, 2, 4]))])
            try ctx.define(0, try ctx.emit(.reshape, [moved], [("shape", .ints([n, c * b * b, h, w]))]))
        }
        t["EyeLike"] = { ctx in
            let d = try ctx.shape(0)
            guard d.count == 2 else { throw ConversionError("input must be rank 2, got \(try ctx.type(0))") }
            let k = try ctx.attributes.int("k", 0)
            var integer = try ctx.type(0).dtype == .i32
            if ctx.attributes.has("dtype") {
                let code = Int32(clamping: try ctx.attributes.int("dtype", 1))
                guard let dtype = ONNXDataType.kilnType(code) else { throw ConversionError("dtype \(ONNXDataType.name(code)) is not supported (Kiln has f32 and i32)") }
                integer = dtype == .i32
            }
            guard let count = checkedElementCount(d), count <= ConstantFolder.budget else { throw ConversionError("EyeLike of \(d) is too large to build at import") }
            var values = Array(repeating: 0.0, count: count)
            for i in 0..<d[0] {
                let (j, overflow) = i.addingReportingOverflow(k)
                if !overflow, j >= 0, j < d[1] { values[i * d[1] + j] = 1 }
            }
            ctx.define(0, constant: ConstantTensor(shape: d, values: values, isInteger: integer))
        }
    }
}
