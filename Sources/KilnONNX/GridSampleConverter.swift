import KilnIR

/// ONNX `GridSample` (2-d and 3-d) for the linear and nearest modes with zeros or border
/// padding: each output position's coordinates are denormalised as ONNX's reference does, its
/// 2^k (linear) or one (nearest, rounded half to even) source pixels are gathered by run-time
/// flat row numbers from X laid out as [N·spatial, C] rows, weighted and summed; taps outside
/// the input count 0 (zeros) or are clamped to the edge (border). Cubic interpolation and
/// reflection padding are refused.
enum GridSampleConverter {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["GridSample"] = convert
    }

    static func convert(_ ctx: ImportContext) throws {
        let xd = try ctx.shape(0), gd = try ctx.shape(1), k = xd.count - 2
        guard k == 2 || k == 3, gd.count == k + 2, gd[0] == xd[0], gd[k + 1] == k, try ctx.type(0).dtype == .f32 else {
            throw ConversionError("X must be float [N, C, spatial…] (2-d or 3-d) and grid [N, out…, \(k)], got \(try ctx.type(0)) and \(try ctx.type(1))")
        }
        var mode = ctx.attributes.string("mode", ctx.opset >= 20 ? "linear" : "bilinear")
        if mode == "bilinear" { mode = "linear" }
        guard mode == "linear" || mode == "nearest" else { throw ConversionError("mode '\(mode)' is not supported (linear and nearest)") }
        let padding = ctx.attributes.string("padding_mode", "zeros")
        guard padding == "zeros" || padding == "border" else { throw ConversionError("padding_mode '\(padding)' is not supported (zeros and border)") }
        let align = try ctx.attributes.int("align_corners", 0) != 0
        let (n, c) = (xd[0], xd[1]), spatial = Array(xd[2...]), outSpatial = Array(gd[1...k])
        let plane = spatial.reduce(1, *)
        let strides = IndexingConverters.strides(spatial)
        // X as rows [N·plane, C].
        var perm = [0] + Array(2..<(k + 2)) + [1]
        let rows = try ctx.emit(.reshape, [try ctx.emit(.transpose, [try ctx.operand(0)], [("perm", .ints(perm))])], [("shape", .ints([n * plane, c]))])
        let grid = try ctx.operand(1)
        let position = [n] + outSpatial
        let batchBase = try ctx.stateTensor("grid_batch_base", ConstantTensor(shape: [n] + Array(repeating: 1, count: k), values: (0..<n).map { Double($0 * plane) }, isInteger: true))
        // Coordinates per spatial axis a (grid's last axis lists x, y[, z]: the axes reversed).
        var coordinate: [String] = []
        for a in 0..<k {
            let component = k - 1 - a
            let sliced = try ctx.emit(.slice, [grid], [("begin", .ints(Array(repeating: 0, count: k + 1) + [component])), ("end", .ints(position + [component + 1]))])
            var u = try ctx.emit(.reshape, [sliced], [("shape", .ints(position))])
            let length = Double(spatial[a])
            let one = try ctx.constantNode(1)
            u = align ? try ctx.emit(.mul, [try ctx.emit(.add, [u, one]), try ctx.constantNode((length - 1) / 2)])
                      : try ctx.emit(.div, [try ctx.emit(.sub, [try ctx.emit(.mul, [try ctx.emit(.add, [u, one]), try ctx.constantNode(length)]), one]), try ctx.constantNode(2)])
            if mode == "nearest" { u = try ArithmeticConverters.roundHalfEven(ctx, u) }
            // Border: the coordinate clamped into the input; zeros: kept within two pixels of it
            // (farther taps are all outside, masked), so the integer cast cannot overflow.
            let (low, high) = padding == "border" ? (0.0, length - 1) : (-2.0, length + 1)
            u = try ctx.emit(.min, [try ctx.emit(.max, [u, try ctx.constantNode(low)]), try ctx.constantNode(high)])
            coordinate.append(u)
        }
        var taps: [[(index: String, weight: String?)]] = []
        for a in 0..<k {
            if mode == "nearest" { taps.append([(try ctx.emit(.cast, [coordinate[a]], [("dtype", .dtype(.i32))]), nil)]); continue }
            let floor = try RoundingConverters.floor(ctx, coordinate[a])
            let upper = try ctx.emit(.sub, [coordinate[a], floor])
            let lower = try ctx.emit(.sub, [try ctx.constantNode(1), upper])
            let i0 = try ctx.emit(.cast, [floor], [("dtype", .dtype(.i32))])
            taps.append([(i0, lower), (try ctx.emit(.add, [i0, try ctx.constantNode(1, dtype: .i32)]), upper)])
        }
        var total: String? = nil
        for combination in 0..<(1 << (mode == "nearest" ? 0 : k)) {
            var flat = batchBase, weight: String? = nil, valid: String? = nil
            for a in 0..<k {
                let tap = taps[a][mode == "nearest" ? 0 : (combination >> a) & 1]
                var index = tap.index
                if padding == "zeros" {
                    let inside = try ctx.emit(.min, [try ctx.emit(.greater_equal, [index, try ctx.constantNode(0, dtype: .i32)]),
                                                     try ctx.emit(.less, [index, try ctx.constantNode(Double(spatial[a]), dtype: .i32)])])
                    valid = try valid.map { try ctx.emit(.min, [$0, inside]) } ?? inside
                }
                // Clamped for the gather (border taps, and masked zeros taps).
                index = try ctx.emit(.min, [try ctx.emit(.max, [index, try ctx.constantNode(0, dtype: .i32)]), try ctx.constantNode(Double(spatial[a] - 1), dtype: .i32)])
                flat = try ctx.emit(.add, [flat, try ctx.emit(.mul, [index, try ctx.constantNode(Double(strides[a]), dtype: .i32)])])
                if let w = tap.weight { weight = try weight.map { try ctx.emit(.mul, [$0, w]) } ?? w }
            }
            if let v = valid {
                let mask = try ctx.emit(.cast, [v], [("dtype", .dtype(.f32))])
                weight = try weight.map { try ctx.emit(.mul, [$0, mask]) } ?? mask
            }
            var value = try ctx.emit(.gather, [rows, flat])   // [N, out…, C]
            if let weight { value = try ctx.emit(.mul, [value, try ctx.emit(.reshape, [weight], [("shape", .ints(position + [1]))])]) }
            total = try total.map { try ctx.emit(.add, [$0, value]) } ?? value
        }
        guard let total else { throw ConversionError("no taps") }
        perm = [0, k + 1] + Array(1...k)
        try ctx.define(0, try ctx.emit(.transpose, [total], [("perm", .ints(perm))]))
    }
}
