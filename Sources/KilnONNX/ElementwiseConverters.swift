import KilnIR

/// Arithmetic, activations and comparisons: one Kiln op each, or an exact composition
/// (`Clip`, `PRelu`, …); the composite activations (`Gelu`, `Mish`, `Selu`, `HardSigmoid`, …)
/// expand `Composites` (KilnIR), as the DSL's do.
enum ElementwiseConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        let binaries: [String: OpKind] = ["Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div, "Pow": .pow,
                                          "Equal": .equal, "Less": .less, "Greater": .greater,
                                          "LessOrEqual": .less_equal, "GreaterOrEqual": .greater_equal]
        for (onnx, op) in binaries {
            t[onnx] = { ctx in
                var b = try ctx.operand(1), a = try ctx.operand(0)
                // Before opset 7, `broadcast=1` with `axis` aligns B's axes with A's from `axis` on.
                if ctx.opset < 7, try ctx.attributes.int("broadcast", 0) != 0 {
                    let ra = try ctx.rank(0), bd = try ctx.shape(1)
                    let axis = try ctx.attributes.int("axis", ra - bd.count)
                    let start = axis < 0 ? axis + ra : axis
                    guard start >= 0, start + bd.count <= ra else { throw ConversionError("legacy broadcast axis \(axis) does not fit ranks \(ra) and \(bd.count)") }
                    b = try ctx.emit(.reshape, [b], [("shape", .ints(bd + Array(repeating: 1, count: ra - start - bd.count)))])
                }
                guard op == .pow else { try ctx.define(0, try ctx.emit(op, [a, b])); return }
                // Kiln's pow is f32: integer bases and exponents are computed in f32 (exact for
                // results below 2^24) and the result takes the base's type, as ONNX says.
                let baseType = try ctx.kilnType(a).dtype
                if baseType != .f32 { a = try ctx.emit(.cast, [a], [("dtype", .dtype(.f32))]) }
                if try ctx.kilnType(b).dtype != .f32 { b = try ctx.emit(.cast, [b], [("dtype", .dtype(.f32))]) }
                var y = try ctx.emit(.pow, [a, b])
                if baseType != .f32 { y = try ctx.emit(.cast, [y], [("dtype", .dtype(baseType))]) }
                try ctx.define(0, y)
            }
        }
        let unaries: [String: OpKind] = ["Neg": .neg, "Exp": .exp, "Log": .log, "Sqrt": .sqrt, "Abs": .abs, "Relu": .relu,
                                         "Sigmoid": .sigmoid, "Tanh": .tanh, "Sign": .sign, "Erf": .erf]
        for (onnx, op) in unaries {
            t[onnx] = { ctx in try ctx.define(0, try ctx.emit(op, [try ctx.operand(0)])) }
        }
        t["Identity"] = { ctx in try ctx.define(0, try ctx.operand(0)) }
        t["Dropout"] = { ctx in
            // Inference: the identity. training_mode (an input from opset 12) must be false.
            if let mode = ctx.constant(2), try mode.scalar("training_mode") != 0 {
                throw ConversionError("training_mode is true; Kiln imports inference graphs (use Kiln's own dropout to train)")
            }
            if ctx.hasInput(2) && ctx.constant(2) == nil { throw ConversionError("training_mode must be known at import time") }
            guard !ctx.wantsOutput(1) else { throw ConversionError("the mask output is not supported") }
            try ctx.define(0, try ctx.operand(0))
        }
        t["LeakyRelu"] = { ctx in
            try ctx.define(0, try ctx.emit(.leaky_relu, [try ctx.operand(0)], [("alpha", .float(try ctx.attributes.float("alpha", 0.01)))]))
        }
        t["Elu"] = { ctx in
            try ctx.define(0, try ctx.emit(.elu, [try ctx.operand(0)], [("alpha", .float(try ctx.attributes.float("alpha", 1)))]))
        }
        t["Reciprocal"] = { ctx in try ctx.define(0, try ctx.emit(.div, [try ctx.constantNode(1), try ctx.operand(0)])) }
        t["Softplus"] = { ctx in try ctx.define(0, try ctx.emit(.softplus, [try ctx.operand(0)])) }
        t["Softsign"] = { ctx in try ctx.define(0, try Composites.softsign(try ctx.operand(0), op: ctx.emit, scalar: ctx.scalar)) }
        t["HardSigmoid"] = { ctx in
            let x = try ctx.operand(0)
            let alpha = try ctx.attributes.float("alpha", 0.2), beta = try ctx.attributes.float("beta", 0.5)
            try ctx.define(0, try Composites.hardSigmoid(x, alpha: alpha, beta: beta, op: ctx.emit, scalar: ctx.scalar))
        }
        t["HardSwish"] = { ctx in
            let x = try ctx.operand(0)
            try ctx.define(0, try ctx.emit(.mul, [x, try Composites.hardSigmoid(x, alpha: 1.0 / 6, beta: 0.5, op: ctx.emit, scalar: ctx.scalar)]))
        }
        t["Selu"] = { ctx in
            let x = try ctx.operand(0)
            let alpha = try ctx.attributes.float("alpha", 1.67326319217681884765625), gamma = try ctx.attributes.float("gamma", 1.05070102214813232421875)
            try ctx.define(0, try Composites.selu(x, alpha: alpha, gamma: gamma, op: ctx.emit, scalar: ctx.scalar))
        }
        t["PRelu"] = { ctx in
            let x = try ctx.operand(0)
            var slope = try ctx.operand(1)
            // Before opset 7 a [C] slope runs along the channel axis.
            let xd = try ctx.shape(0), sd = try ctx.shape(1)
            if ctx.opset < 7, sd.count == 1, xd.count >= 2, sd[0] == xd[1], sd[0] != xd[xd.count - 1] || xd.count > 2 {
                slope = try ctx.emit(.reshape, [slope], [("shape", .ints([sd[0]] + Array(repeating: 1, count: xd.count - 2)))])
            }
            let negative = try ctx.emit(.less, [x, try ctx.constantNode(0)])
            try ctx.define(0, try ctx.emit(.select, [negative, try ctx.emit(.mul, [x, slope]), x]))
        }
        t["Clip"] = { ctx in
            var y = try ctx.operand(0)
            let dtype = try ctx.kilnType(y).dtype
            // Bounds: attributes before opset 11, optional inputs after.
            let low: String? = ctx.attributes.has("min") ? try ctx.constantNode(try ctx.attributes.float("min", 0), dtype: dtype) : (ctx.hasInput(1) ? try ctx.operand(1) : nil)
            let high: String? = ctx.attributes.has("max") ? try ctx.constantNode(try ctx.attributes.float("max", 0), dtype: dtype) : (ctx.hasInput(2) ? try ctx.operand(2) : nil)
            if let low { y = try ctx.emit(.max, [y, low]) }
            if let high { y = try ctx.emit(.min, [y, high]) }
            if low == nil && high == nil { y = try ctx.emit(.reshape, [y], [("shape", .ints(try ctx.dims(y)))]) }
            try ctx.define(0, y)
        }
        t["ThresholdedRelu"] = { ctx in
            let x = try ctx.operand(0)
            let above = try ctx.emit(.greater, [x, try ctx.constantNode(try ctx.attributes.float("alpha", 1))])
            try ctx.define(0, try ctx.emit(.mul, [x, above]))
        }
        t["Swish"] = { ctx in
            let alpha = try ctx.attributes.float("alpha", 1)
            try ctx.define(0, try Composites.swish(try ctx.operand(0), alpha: alpha, op: ctx.emit, scalar: ctx.scalar))
        }
        t["Mish"] = { ctx in try ctx.define(0, try Composites.mish(try ctx.operand(0), op: ctx.emit, scalar: ctx.scalar)) }
        t["CastLike"] = { ctx in
            let target = try ctx.type(1).dtype
            // Only the second input's type matters: a known value stays known (a −∞ cast to
            // the input's type that feeds a Pad's constant_value), as Cast's would.
            if var c = ctx.constant(0), c.dtype == target || target == .f32 {
                if c.dtype != target { c = ConstantTensor(shape: c.shape, values: c.values.map { Double(Float($0)) }, isInteger: false) }
                ctx.define(0, constant: c)
                return
            }
            let x = try ctx.operand(0)
            try ctx.define(0, try ctx.kilnType(x).dtype == target ? x : try ctx.emit(.cast, [x], [("dtype", .dtype(target))]))
        }
        t["Gelu"] = { ctx in
            let x = try ctx.operand(0)
            switch ctx.attributes.string("approximate", "none") {
            case "none": try ctx.define(0, try Composites.gelu(x, op: ctx.emit, scalar: ctx.scalar))
            case "tanh": try ctx.define(0, try Composites.geluTanh(x, op: ctx.emit, scalar: ctx.scalar))
            case let other: throw ConversionError("approximate='\(other)' is not 'none' or 'tanh'")
            }
        }
        t["Where"] = { ctx in
            try ctx.define(0, try ctx.emit(.select, [try ctx.operand(0), try ctx.operand(1), try ctx.operand(2)]))
        }
        t["Not"] = { ctx in
            let x = try ctx.operand(0)
            try ctx.define(0, try ctx.emit(.equal, [x, try ctx.constantNode(0, dtype: try ctx.kilnType(x).dtype)]))
        }
        t["Cast"] = { ctx in
            let x = try ctx.operand(0), to = Int32(try ctx.attributes.int("to", 1))
            guard let dtype = ONNXDataType.kilnType(to) else {
                throw ConversionError("cast to \(ONNXDataType.name(to)) is not supported (Kiln has f32 and i32)")
            }
            var y = x
            if to == ONNXDataType.bool {
                y = try ctx.emit(.cast, [try ctx.emit(.not_equal, [x, try ctx.constantNode(0, dtype: try ctx.kilnType(x).dtype)])], [("dtype", .dtype(.i32))])
            } else if try ctx.kilnType(x).dtype != dtype {
                y = try ctx.emit(.cast, [x], [("dtype", .dtype(dtype))])
            }
            try ctx.define(0, y)
        }
        // Variadic Sum/Mean/Max/Min fold left over their inputs.
        let variadic: [String: OpKind] = ["Sum": .add, "Mean": .add, "Max": .max, "Min": .min]
        for (onnx, op) in variadic {
            t[onnx] = { ctx in
                var y = try ctx.operand(0)
                for i in 1..<ctx.inputCount where ctx.hasInput(i) { y = try ctx.emit(op, [y, try ctx.operand(i)]) }
                if onnx == "Mean" && ctx.inputCount > 1 { y = try ctx.emit(.div, [y, try ctx.constantNode(Double(ctx.inputCount))]) }
                if ctx.inputCount == 1 { y = try ctx.emit(.reshape, [y], [("shape", .ints(try ctx.dims(y)))]) }
                try ctx.define(0, y)
            }
        }
    }

    /// max(0, min(1, αx + β)).
}
