import KilnIR

/// ONNX `AffineGrid`: the normalised sampling grid of the (known) output size in homogeneous
/// coordinates (x, y[, z], 1), computed at import as ONNX's reference does, times each θᵀ
/// (one batched `matmul`).
enum AffineGridConverter {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["AffineGrid"] = convert
    }

    static func convert(_ ctx: ImportContext) throws {
        let size = try ctx.requiredConstant(1, "size").integers("size")
        guard size.count == 4 || size.count == 5, size.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else {
            throw ConversionError("size \(size) must be [N, C, H, W] or [N, C, D, H, W] of positive sizes")
        }
        let spatial = Array(size[2...]), k = spatial.count
        let theta = try ctx.operand(0), td = try ctx.shape(0)
        guard td == [size[0], k, k + 1], try ctx.type(0).dtype == .f32 else {
            throw ConversionError("theta must be float [\(size[0]), \(k), \(k + 1)], got \(try ctx.type(0))")
        }
        guard let points = checkedElementCount(spatial), points * (k + 1) <= ConstantFolder.budget else {
            throw ConversionError("a grid of \(spatial) is beyond \(ConstantFolder.budget) values")
        }
        let align = try ctx.attributes.int("align_corners", 0) != 0
        func coordinates(_ n: Int) -> [Double] {
            (0..<n).map { i in
                if align { return n == 1 ? -1 : -1 + Double(i) * (2 / Double(n - 1)) }
                let step = 2 / Double(n)
                return -1 + step / 2 + Double(i) * step
            }
        }
        let axes = spatial.map(coordinates)
        // Row-major over (D,) H, W; columns x (last axis), y, (z), 1.
        var values: [Double] = []
        values.reserveCapacity(points * (k + 1))
        let strides = IndexingConverters.strides(spatial)
        for p in 0..<points {
            var rest = p, position = Array(repeating: 0, count: k)
            for a in 0..<k { position[a] = rest / strides[a]; rest %= strides[a] }
            for a in (0..<k).reversed() { values.append(axes[a][position[a]]) }
            values.append(1)
        }
        let base = try ctx.stateTensor("affine_base", ConstantTensor(shape: [points, k + 1], values: values, isInteger: false))
        let thetaT = try ctx.emit(.transpose, [theta], [("perm", .ints([0, 2, 1]))])
        let grid = try MatmulConverters.matmul(ctx, base, thetaT)   // [N, points, k]
        try ctx.define(0, try ctx.emit(.reshape, [grid], [("shape", .ints([size[0]] + spatial + [k]))]))
    }
}
