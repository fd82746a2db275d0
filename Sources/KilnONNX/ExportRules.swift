import KilnIR

/// One Kiln op as ONNX nodes (opset 17), writing the op's result under its Kiln name.
enum ExportRules {
    static func emit(_ n: Node, types: [String: TensorType], into w: inout ONNXWriter) throws {
        let a = n.attributes, x = n.operands, out = n.name
        func type(_ v: String) throws -> TensorType {
            guard let t = types[v] else { throw ConversionError("type of '\(v)' is unknown (run shape inference first)") }
            return t
        }
        func dtypeCode(_ d: DType) -> Int { d == .f32 ? Int(ONNXDataType.float) : Int(ONNXDataType.int32) }
        let simple: [OpKind: String] = [.add: "Add", .sub: "Sub", .mul: "Mul", .div: "Div", .max: "Max", .min: "Min", .pow: "Pow",
                                        .neg: "Neg", .exp: "Exp", .log: "Log", .sqrt: "Sqrt", .abs: "Abs", .sign: "Sign",
                                        .tanh: "Tanh", .sigmoid: "Sigmoid", .relu: "Relu", .dropout: "Identity",
                                        .erf: "Erf", .softplus: "Softplus", .stop_gradient: "Identity"]
        if let op = simple[n.op] { w.node(op, x, out); return }
        let comparisons: [OpKind: String] = [.equal: "Equal", .less: "Less", .less_equal: "LessOrEqual", .greater: "Greater", .greater_equal: "GreaterOrEqual"]
        if let op = comparisons[n.op] {
            // Kiln compares into the operand type (1 or 0); ONNX into bool.
            w.node("Cast", [w.node(op, x)], out, [Attr.int("to", dtypeCode(try type(x[0]).dtype))])
            return
        }
        switch n.op {
        case .not_equal:
            w.node("Cast", [w.node("Not", [w.node("Equal", x)])], out, [Attr.int("to", dtypeCode(try type(x[0]).dtype))])
        case .select:
            let c = w.node("Cast", [x[0]], nil, [Attr.int("to", Int(ONNXDataType.bool))])
            w.node("Where", [c, x[1], x[2]], out)
        case .square: w.node("Mul", [x[0], x[0]], out)
        case .rsqrt: w.node("Reciprocal", [w.node("Sqrt", x)], out)
        case .leaky_relu: w.node("LeakyRelu", x, out, [Attr.float("alpha", a.float("alpha"))])
        case .elu: w.node("Elu", x, out, [Attr.float("alpha", a.float("alpha"))])
        // ONNX has neither: the composites, exact in ONNX's terms but without the
        // primitives' accuracy near 0 (Docs/ONNX.md).
        case .log1p: w.node("Log", [w.node("Add", [x[0], w.scalar(1)])], out)
        case .expm1: w.node("Sub", [w.node("Exp", x), w.scalar(1)], out)
        case .cast: w.node("Cast", x, out, [Attr.int("to", dtypeCode(a.dtype("dtype")))])
        case .constant:
            let t = try type(out)
            var value = Onnx_TensorProto()
            value.dataType = Int32(dtypeCode(t.dtype))
            value.dims = t.rank == 0 ? [] : [1]
            if t.dtype == .f32 { value.floatData = [Float(a.float("value"))] } else { value.int32Data = [Int32(saturating: a.float("value"))] }
            if t.rank == 0 {
                w.node("Constant", [], out, [Attr.tensor("value", value)])
            } else {
                w.node("ConstantOfShape", [w.int64s(t.shape.dims)], out, [Attr.tensor("value", value)])
            }
        case .matmul:
            func transposed(_ v: String, _ flag: Bool) throws -> String {
                guard flag else { return v }
                let r = try type(v).rank
                return w.node("Transpose", [v], nil, [Attr.ints("perm", Array(0..<(r - 2)) + [r - 1, r - 2])])
            }
            w.node("MatMul", [try transposed(x[0], a.bool("transpose_a")), try transposed(x[1], a.bool("transpose_b"))], out)
        case .conv2d:
            let p = a.ints("padding"), f = try type(x[1])
            w.node("Conv", x, out, [Attr.ints("kernel_shape", [f.shape[2], f.shape[3]]), Attr.ints("strides", a.ints("stride")), Attr.ints("pads", p + p),
                                    Attr.int("group", a.convolutionGroups)])
        case .max_pool2d, .avg_pool2d:
            let p = a.ints("padding")
            var attrs = [Attr.ints("kernel_shape", a.ints("window")), Attr.ints("strides", a.ints("stride")), Attr.ints("pads", p + p)]
            if n.op == .avg_pool2d { attrs.append(Attr.int("count_include_pad", 1)) }
            w.node(n.op == .max_pool2d ? "MaxPool" : "AveragePool", x, out, attrs)
        case .transpose: w.node("Transpose", x, out, [Attr.ints("perm", a.ints("perm"))])
        case .reshape: w.node("Reshape", [x[0], w.int64s(try type(out).shape.dims)], out)
        case .broadcast_to: w.node("Expand", [x[0], w.int64s(a.ints("shape"))], out)
        case .concat: w.node("Concat", x, out, [Attr.int("axis", a.int("axis"))])
        case .slice:
            let begin = a.ints("begin")
            w.node("Slice", [x[0], w.int64s(begin, "starts"), w.int64s(a.ints("end"), "ends"), w.int64s(Array(0..<begin.count), "axes")], out)
        case .pad: w.node("Pad", [x[0], w.int64s(a.ints("before") + a.ints("after"), "pads")], out)
        case .gather: w.node("Gather", x, out, [Attr.int("axis", 0)])
        case .one_hot:
            var values = Onnx_TensorProto()
            values.name = w.fresh("onehot_values"); values.dataType = ONNXDataType.float; values.dims = [2]; values.floatData = [0, 1]
            w.graph.initializer.append(values)
            w.node("OneHot", [x[0], w.int64s([a.int("depth")], "depth"), values.name], out, [Attr.int("axis", -1)])
        case .argmax:
            let arg = w.node("ArgMax", x, nil, [Attr.int("axis", a.int("axis")), Attr.int("keepdims", 0)])
            w.node("Cast", [arg], out, [Attr.int("to", Int(ONNXDataType.int32))])
        case .reduce_sum:
            w.node("ReduceSum", [x[0], w.int64s(a.ints("axes"), "axes")], out, [Attr.int("keepdims", a.bool("keep_dims") ? 1 : 0)])
        case .reduce_mean, .reduce_max:
            w.node(n.op == .reduce_mean ? "ReduceMean" : "ReduceMax", x, out, [Attr.ints("axes", a.ints("axes")), Attr.int("keepdims", a.bool("keep_dims") ? 1 : 0)])
        case .softmax: w.node("Softmax", x, out, [Attr.int("axis", a.int("axis"))])
        case .log_softmax: w.node("LogSoftmax", x, out, [Attr.int("axis", a.int("axis"))])
        case .softmax_cross_entropy: w.node("SoftmaxCrossEntropyLoss", x, out, [Attr.string("reduction", "mean")])
        case .mse:
            let d = w.node("Sub", x)
            w.node("ReduceMean", [w.node("Mul", [d, d])], out, [Attr.int("keepdims", 0)])
        case .binary_cross_entropy:
            // −mean(y·log p + (1 − y)·log(1 − p)), p clamped to [1e-7, 1 − 1e-7] as Kiln does.
            let p = w.node("Clip", [x[0], w.scalar(1e-7), w.scalar(1 - 1e-7)])
            let one = w.scalar(1)
            let pos = w.node("Mul", [x[1], w.node("Log", [p])])
            let neg = w.node("Mul", [w.node("Sub", [one, x[1]]), w.node("Log", [w.node("Sub", [one, p])])])
            w.node("Neg", [w.node("ReduceMean", [w.node("Add", [pos, neg])], nil, [Attr.int("keepdims", 0)])], out)
        case .sigmoid_cross_entropy:
            // mean(max(z, 0) − z·y + log(1 + e^−|z|)).
            let z = x[0]
            let softplus = w.node("Log", [w.node("Add", [w.scalar(1), w.node("Exp", [w.node("Neg", [w.node("Abs", [z])])])])])
            let terms = w.node("Add", [w.node("Sub", [w.node("Relu", [z]), w.node("Mul", [z, x[1]])]), softplus])
            w.node("ReduceMean", [terms], out, [Attr.int("keepdims", 0)])
        case .if_training:
            // Inference graphs take the evaluation branch.
            w.node("Identity", [x[1]], out)
        case .iota:
            // Each element's index along `axis`: known at export time, written as an initializer.
            let t = try type(out), axis = a.int("axis"), dims = t.shape.dims
            let inner = dims[(axis + 1)...].reduce(1, *)
            let values = (0..<t.elementCount).map { ($0 / inner) % dims[axis] }
            var value = Onnx_TensorProto()
            value.name = out
            value.dims = dims.map(Int64.init)
            if t.dtype == .f32 { value.dataType = ONNXDataType.float; value.floatData = values.map(Float.init) } else { value.dataType = ONNXDataType.int32; value.int32Data = values.map { Int32($0) } }
            w.graph.initializer.append(value)
        case .random_normal, .random_uniform, .bernoulli:
            throw ConversionError("random ops have no inference meaning in ONNX; export the graph without them")
        case .gather_grad:
            // The scatter-add that imported ScatterElements/ScatterND (run-time indices) became:
            // ScatterND with reduction add into zeros of the output's shape.
            let t = try type(out)
            var zero = Onnx_TensorProto()
            zero.dataType = Int32(dtypeCode(t.dtype)); zero.dims = [1]
            if t.dtype == .f32 { zero.floatData = [0] } else { zero.int32Data = [0] }
            let zeros = w.node("ConstantOfShape", [w.int64s(t.shape.dims)], nil, [Attr.tensor("value", zero)])
            let rows = w.node("Unsqueeze", [w.node("Cast", [x[1]], nil, [Attr.int("to", Int(ONNXDataType.int64))]), w.int64s([-1], "axes")])
            w.node("ScatterND", [zeros, rows, x[0]], out, [Attr.string("reduction", "add")])
        case .conv2d_grad_input:
            // The transposed convolution imported ConvTranspose became: ConvTranspose back, the
            // output size pinned by output_padding (ONNX derives pads from output_shape instead).
            let dy = try type(x[0]), f = try type(x[1]), t = try type(out)
            let s = a.ints("stride"), p = a.ints("padding")
            let extra = (0..<2).map { i in t.shape[2 + i] - ((dy.shape[2 + i] - 1) * s[i] + f.shape[2 + i] - 2 * p[i]) }
            guard (0..<2).allSatisfy({ extra[$0] >= 0 && extra[$0] < max(s[$0], 1) || extra[$0] == 0 }) else {
                throw ConversionError("a transposed convolution to \(t.shape.dims) has no ConvTranspose form (output_padding \(extra))")
            }
            w.node("ConvTranspose", x, out, [Attr.ints("kernel_shape", [f.shape[2], f.shape[3]]), Attr.ints("strides", s), Attr.ints("pads", p + p),
                                             Attr.ints("output_padding", extra), Attr.int("group", a.convolutionGroups)])
        case .conv2d_grad_filter, .max_pool2d_grad, .avg_pool2d_grad, .softmax_cross_entropy_grad:
            throw ConversionError("gradient helper ops are not exported; export the inference graph")
        case .fused:
            throw ConversionError("nested fused kernel")
        case .add, .sub, .mul, .div, .max, .min, .pow, .neg, .exp, .log, .sqrt, .abs, .sign, .tanh, .sigmoid, .relu, .dropout, .erf, .softplus, .stop_gradient,
             .equal, .less, .less_equal, .greater, .greater_equal:
            // Written by the tables above: an op listed here but missing there would export
            // nothing, so that is an error, not a silent gap.
            throw ConversionError("internal: '\(n.op.name)' has no entry in the ONNX export tables")
        }
    }
}
