import KilnIR

/// `BatchNormalization` (inference), `LayerNormalization`, `InstanceNormalization`,
/// `Softmax`/`LogSoftmax`, as Kiln elementwise ops and reductions. Scales and biases stay
/// params (trainable); running statistics become state.
enum NormalizationConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["BatchNormalization"] = { ctx in
            if try ctx.attributes.int("training_mode", 0) != 0 || ctx.wantsOutput(1) || ctx.wantsOutput(2) {
                throw ConversionError("training mode (running statistics as outputs) is not supported; Kiln imports inference graphs")
            }
            let x = try ctx.operand(0), rank = try ctx.rank(0)
            guard rank >= 2 else { throw ConversionError("input must have rank 2 or more, got \(try ctx.type(0))") }
            let channels = try ctx.shape(0)[1]
            let shape = [1, channels] + Array(repeating: 1, count: rank - 2)
            func perChannel(_ i: Int, role: KilnIR.Param.Role?) throws -> String {
                if let role, ctx.hasInput(i) { try ctx.materialize(ctx.node.input[i], role: role) }
                let v = try ctx.operand(i)
                guard try ctx.kilnType(v).elementCount == channels else { throw ConversionError("input \(i) must have \(channels) elements, has \(try ctx.kilnType(v))") }
                return try ctx.emit(.reshape, [v], [("shape", .ints(shape))])
            }
            let scale = try perChannel(1, role: nil), bias = try perChannel(2, role: nil)
            let mean = try perChannel(3, role: .state), variance = try perChannel(4, role: .state)
            let eps = try ctx.attributes.float("epsilon", 1e-5)
            let inv = try ctx.emit(.rsqrt, [try ctx.emit(.add, [variance, try ctx.constantNode(eps)])])
            let centered = try ctx.emit(.sub, [x, mean])
            let y = try ctx.emit(.add, [try ctx.emit(.mul, [centered, try ctx.emit(.mul, [inv, scale])]), bias])
            try ctx.define(0, y)
        }
        t["LayerNormalization"] = { ctx in
            let x = try ctx.operand(0), rank = try ctx.rank(0)
            let axis = try ctx.axis(try ctx.attributes.int("axis", -1), rank: rank)
            let axes = Array(axis..<rank), eps = try ctx.attributes.float("epsilon", 1e-5)
            let mean = try ctx.emit(.reduce_mean, [x], [("axes", .ints(axes)), ("keep_dims", .bool(true))])
            let centered = try ctx.emit(.sub, [x, mean])
            let variance = try ctx.emit(.reduce_mean, [try ctx.emit(.square, [centered])], [("axes", .ints(axes)), ("keep_dims", .bool(true))])
            let inv = try ctx.emit(.rsqrt, [try ctx.emit(.add, [variance, try ctx.constantNode(eps)])])
            var y = try ctx.emit(.mul, [try ctx.emit(.mul, [centered, inv]), try ctx.operand(1)])
            if ctx.hasInput(2) { y = try ctx.emit(.add, [y, try ctx.operand(2)]) }
            try ctx.define(0, y)
            try ctx.define(1, mean)
            try ctx.define(2, inv)
        }
        t["RMSNormalization"] = { ctx in
            let x = try ctx.operand(0), rank = try ctx.rank(0)
            let axis = try ctx.axis(try ctx.attributes.int("axis", -1), rank: rank)
            let meanSquare = try ctx.emit(.reduce_mean, [try ctx.emit(.square, [x])], [("axes", .ints(Array(axis..<rank))), ("keep_dims", .bool(true))])
            let inv = try ctx.emit(.rsqrt, [try ctx.emit(.add, [meanSquare, try ctx.constantNode(try ctx.attributes.float("epsilon", 1e-5))])])
            try ctx.define(0, try ctx.emit(.mul, [try ctx.emit(.mul, [x, inv]), try ctx.operand(1)]))
        }
        t["LpNormalization"] = { ctx in
            let x = try ctx.operand(0), rank = try ctx.rank(0)
            let axis = try ctx.axis(try ctx.attributes.int("axis", -1), rank: rank), p = try ctx.attributes.int("p", 2)
            let attrs: [(String, AttrValue)] = [("axes", .ints([axis])), ("keep_dims", .bool(true))]
            let norm: String
            switch p {
            case 1: norm = try ctx.emit(.reduce_sum, [try ctx.emit(.abs, [x])], attrs)
            case 2: norm = try ctx.emit(.sqrt, [try ctx.emit(.reduce_sum, [try ctx.emit(.square, [x])], attrs)])
            default: throw ConversionError("p=\(p) is not supported (1 or 2)")
            }
            // A zero norm gives zeros (as ONNX's reference does), not 0/0.
            let zero = try ctx.emit(.equal, [norm, try ctx.constantNode(0)])
            try ctx.define(0, try ctx.emit(.select, [zero, try ctx.constantNode(0), try ctx.emit(.div, [x, norm])]))
        }
        t["InstanceNormalization"] = { ctx in
            let x = try ctx.operand(0), rank = try ctx.rank(0)
            guard rank >= 3 else { throw ConversionError("input must have rank 3 or more") }
            let shape = [1, try ctx.shape(0)[1]] + Array(repeating: 1, count: rank - 2)
            var y = try normalize(ctx, x, axes: Array(2..<rank), eps: try ctx.attributes.float("epsilon", 1e-5))
            y = try ctx.emit(.mul, [y, try ctx.emit(.reshape, [try ctx.operand(1)], [("shape", .ints(shape))])])
            y = try ctx.emit(.add, [y, try ctx.emit(.reshape, [try ctx.operand(2)], [("shape", .ints(shape))])])
            try ctx.define(0, y)
        }
        t["LRN"] = { ctx in
            // x / (bias + α/size · Σ x² over `size` neighbouring channels)^β, the sum as shifted
            // slices of the channel-padded squares.
            let x = try ctx.operand(0), dims = try ctx.shape(0)
            guard dims.count >= 3 else { throw ConversionError("input must have rank 3 or more") }
            let size = try ctx.attributes.int("size", 0)
            guard size > 0 else { throw ConversionError("size must be positive") }
            let alpha = try ctx.attributes.float("alpha", 1e-4), beta = try ctx.attributes.float("beta", 0.75), bias = try ctx.attributes.float("bias", 1)
            let (before, after) = ((size - 1) / 2, size - 1 - (size - 1) / 2)
            var padBefore = Array(repeating: 0, count: dims.count), padAfter = padBefore
            padBefore[1] = before; padAfter[1] = after
            let squares = try ctx.emit(.pad, [try ctx.emit(.square, [x])], [("before", .ints(padBefore)), ("after", .ints(padAfter))])
            var sum: String?
            for k in 0..<size {
                var b = Array(repeating: 0, count: dims.count), e = try ctx.dims(squares)
                b[1] = k; e[1] = k + dims[1]
                let s = try ctx.emit(.slice, [squares], [("begin", .ints(b)), ("end", .ints(e))])
                sum = try sum.map { try ctx.emit(.add, [$0, s]) } ?? s
            }
            guard let sum else { throw ConversionError("size must be positive") }
            let scaled = try ctx.emit(.add, [try ctx.constantNode(bias), try ctx.emit(.mul, [sum, try ctx.constantNode(alpha / Double(size))])])
            try ctx.define(0, try ctx.emit(.div, [x, try ctx.emit(.pow, [scaled, try ctx.constantNode(beta)])]))
        }
        for (onnx, op) in [("Softmax", OpKind.softmax), ("LogSoftmax", .log_softmax)] {
            t[onnx] = { ctx in
                let x = try ctx.operand(0), dims = try ctx.shape(0)
                if ctx.opset >= 13 {
                    let axis = try ctx.axis(try ctx.attributes.int("axis", -1), rank: dims.count)
                    try ctx.define(0, try ctx.emit(op, [x], [("axis", .int(axis))]))
                } else {
                    // Before opset 13 the input is flattened to 2-d at `axis` (default 1).
                    let axis = try ctx.axis(try ctx.attributes.int("axis", 1), rank: dims.count)
                    let flat = try ctx.emit(.reshape, [x], [("shape", .ints([dims[..<axis].reduce(1, *), dims[axis...].reduce(1, *)]))])
                    try ctx.define(0, try ctx.emit(.reshape, [try ctx.emit(op, [flat], [("axis", .int(1))])], [("shape", .ints(dims))]))
                }
            }
        }
    }

    /// (x − mean) / √(var + ε) over `axes` (kept as size 1).
    static func normalize(_ ctx: ImportContext, _ x: String, axes: [Int], eps: Double) throws -> String {
        let mean = try ctx.emit(.reduce_mean, [x], [("axes", .ints(axes)), ("keep_dims", .bool(true))])
        let centered = try ctx.emit(.sub, [x, mean])
        let variance = try ctx.emit(.reduce_mean, [try ctx.emit(.square, [centered])], [("axes", .ints(axes)), ("keep_dims", .bool(true))])
        return try ctx.emit(.mul, [centered, try ctx.emit(.rsqrt, [try ctx.emit(.add, [variance, try ctx.constantNode(eps)])])])
    }
}
