import KilnIR

/// Why an op cannot pass a gradient to an operand.
enum GradientRule {
    /// The operand's derivative is zero almost everywhere (comparisons, sign): no gradient flows.
    case zero
    /// No gradient exists (integer results, second-order helpers): an error if on the path.
    case undefined
    case defined
}

extension OpKind {
    /// Whether no gradient flows through this op to any operand (stop_gradient, bernoulli,
    /// comparisons, sign, …): to the symbolic gradient its result is a constant. A gradient
    /// checker must hold such values fixed to compare like with like.
    public var blocksGradient: Bool {
        (0..<3).allSatisfy { gradientRule(operand: $0) != .defined }
    }

    /// Whether a gradient can flow from this op's result to operand `index`.
    func gradientRule(operand index: Int) -> GradientRule {
        switch self {
        // Sources, and stop_gradient by definition; bernoulli's samples have no useful
        // derivative in p (it is zero almost everywhere): estimators such as contrastive
        // divergence write their gradient through the energy, not through the sampler.
        case .constant, .random_normal, .random_uniform, .iota, .stop_gradient, .bernoulli: return .zero
        case .equal, .not_equal, .less, .less_equal, .greater, .greater_equal, .sign: return .zero
        case .select: return index == 0 ? .zero : .defined
        // A training graph computes the first operand; the second only exists in evaluation.
        case .if_training: return index == 0 ? .defined : .zero
        case .gather, .softmax_cross_entropy: return index == 0 ? .defined : .zero
        case .argmax, .one_hot, .cast, .gather_grad,
             .conv2d_grad_input, .conv2d_grad_filter, .max_pool2d_grad, .avg_pool2d_grad,
             .softmax_cross_entropy_grad, .fused:
            return self == .cast ? .defined : .undefined
        case .add, .sub, .mul, .div, .max, .min, .pow,
             .neg, .exp, .log, .sqrt, .rsqrt, .square, .abs, .tanh, .sigmoid, .relu, .leaky_relu, .elu,
             .log1p, .expm1, .erf, .softplus, .dropout, .matmul, .conv2d, .max_pool2d, .avg_pool2d,
             .transpose, .reshape, .broadcast_to, .concat, .slice, .pad,
             .reduce_sum, .reduce_mean, .reduce_max, .softmax, .log_softmax,
             .mse, .binary_cross_entropy, .sigmoid_cross_entropy:
            return .defined
        }
    }
}

/// The reverse-mode rule of each op: given the adjoint `dy` of `node`'s result, emits the
/// adjoint contribution of each operand in `wanted` and returns them by operand index.
/// One exhaustive switch, so a new op cannot be added without deciding its gradient.
func emitGradients(of node: Node, dy: String, wanted: Set<Int>, _ e: inout NodeEmitter) throws -> [Int: String] {
    let x = node.operands
    let y = node.name
    let attrs = node.attributes
    var result: [Int: String] = [:]
    /// Emits the contribution for operand `i` only if it is wanted.
    func give(_ i: Int, _ make: (inout NodeEmitter) throws -> String) throws {
        if wanted.contains(i) { result[i] = try make(&e) }
    }
    func shape(_ i: Int) -> Shape { e.shape(x[i]) }

    switch node.op {
    case .constant, .random_normal, .random_uniform, .iota, .stop_gradient, .bernoulli,
         .equal, .not_equal, .less, .less_equal, .greater, .greater_equal, .sign:
        break
    case .argmax, .one_hot, .gather_grad, .conv2d_grad_input, .conv2d_grad_filter, .max_pool2d_grad,
         .avg_pool2d_grad, .softmax_cross_entropy_grad, .fused:
        throw Diagnostic("cannot differentiate through \(node.op.name) ('\(y)')", at: node.location)
    case .cast:
        guard e.type(x[0]).dtype == .f32, e.type(y).dtype == .f32 else {
            throw Diagnostic("cannot differentiate through cast to \(e.type(y).dtype) ('\(y)')", at: node.location)
        }
        try give(0) { _ in dy }

    case .add:
        try give(0) { try $0.unbroadcast(dy, to: shape(0)) }
        try give(1) { try $0.unbroadcast(dy, to: shape(1)) }
    case .sub:
        try give(0) { try $0.unbroadcast(dy, to: shape(0)) }
        try give(1) { try $0.unbroadcast(try $0.neg(dy), to: shape(1)) }
    case .mul:
        try give(0) { try $0.unbroadcast(try $0.mul(dy, x[1]), to: shape(0)) }
        try give(1) { try $0.unbroadcast(try $0.mul(dy, x[0]), to: shape(1)) }
    case .div:
        try give(0) { try $0.unbroadcast(try $0.div(dy, x[1]), to: shape(0)) }
        // d(a/b)/db = -(a/b)/b
        try give(1) { try $0.unbroadcast(try $0.neg(try $0.mul(dy, try $0.div(y, x[1]))), to: shape(1)) }
    case .max, .min:
        // Ties send the gradient to the first operand, as the mask pair below partitions them.
        let (first, second): (OpKind, OpKind) = node.op == .max ? (.greater_equal, .less) : (.less_equal, .greater)
        try give(0) { try $0.unbroadcast(try $0.mul(dy, try $0.emit(first, [x[0], x[1]])), to: shape(0)) }
        try give(1) { try $0.unbroadcast(try $0.mul(dy, try $0.emit(second, [x[0], x[1]])), to: shape(1)) }
    case .pow:
        try give(0) { e in
            let bMinus1 = try e.sub(x[1], try e.constant(1))
            let local = try e.mul(x[1], try e.emit(.pow, [x[0], bMinus1]))
            return try e.unbroadcast(try e.mul(dy, local), to: shape(0))
        }
        try give(1) { try $0.unbroadcast(try $0.mul(dy, try $0.mul(y, try $0.emit(.log, [x[0]]))), to: shape(1)) }
    case .select:
        try give(1) { e in
            try e.unbroadcast(try e.emit(.select, [x[0], dy, try e.constant(0)]), to: shape(1))
        }
        try give(2) { e in
            try e.unbroadcast(try e.emit(.select, [x[0], try e.constant(0), dy]), to: shape(2))
        }

    case .if_training: try give(0) { _ in dy }
    case .neg: try give(0) { try $0.neg(dy) }
    case .exp: try give(0) { try $0.mul(dy, y) }
    case .log: try give(0) { try $0.div(dy, x[0]) }
    case .sqrt: try give(0) { try $0.div(try $0.mul(dy, 0.5), y) }
    case .rsqrt:
        // y = a^(-1/2): dy/da = -y³/2
        try give(0) { e in try e.mul(dy, try e.mul(try e.mul(y, try e.mul(y, y)), -0.5)) }
    case .square: try give(0) { try $0.mul(dy, try $0.mul(x[0], 2)) }
    case .abs: try give(0) { try $0.mul(dy, try $0.emit(.sign, [x[0]])) }
    case .tanh:
        try give(0) { e in try e.mul(dy, try e.sub(try e.constant(1), try e.emit(.square, [y]))) }
    case .sigmoid:
        try give(0) { e in try e.mul(dy, try e.mul(y, try e.sub(try e.constant(1), y))) }
    case .relu:
        // Masking on the output (y > 0 ⇔ x > 0) lets the pre-activation die at the forward op.
        try give(0) { e in try e.mul(dy, try e.emit(.greater, [y, try e.constant(0)])) }
    case .leaky_relu:
        try give(0) { e in
            let slope = try e.emit(.select, [try e.emit(.greater, [x[0], try e.constant(0)]),
                                             try e.constant(1), try e.constant(attrs.float("alpha"))])
            return try e.mul(dy, slope)
        }
    case .elu:
        // y = alpha·(exp(a) − 1) for a ≤ 0, so dy/da = y + alpha there.
        try give(0) { e in
            let negative = try e.mul(dy, try e.add(y, attrs.float("alpha")))
            return try e.emit(.select, [try e.emit(.greater, [y, try e.constant(0)]), dy, negative])
        }
    case .log1p: try give(0) { e in try e.div(dy, try e.add(x[0], 1)) }
    // d/dx (eˣ − 1) = eˣ = y + 1
    case .expm1: try give(0) { e in try e.mul(dy, try e.add(y, 1)) }
    case .erf:
        // d/dx erf(x) = 2/√π · e^(−x²)
        try give(0) { e in
            let gauss = try e.emit(.exp, [try e.neg(try e.emit(.square, [x[0]]))])
            return try e.mul(dy, try e.mul(gauss, 2 / Double.pi.squareRoot()))
        }
    case .softplus:
        // d/dx log(1 + eˣ) = sigmoid(x)
        try give(0) { e in try e.mul(dy, try e.emit(.sigmoid, [x[0]])) }
    case .dropout:
        // Same seed and step give the same mask, so the gradient is dropout of dy.
        try give(0) { try $0.emit(.dropout, [dy], [("rate", attrs["rate"] ?? .float(0)), ("seed", attrs["seed"] ?? .int(0))]) }

    case .matmul:
        try emitMatmulGradients(node, dy: dy, wanted: wanted, &e, into: &result)
    case .conv2d:
        let window: [(String, AttrValue)] = [("stride", attrs["stride"] ?? .ints([1, 1])), ("padding", attrs["padding"] ?? .ints([0, 0])),
                                             ("groups", .int(attrs.convolutionGroups))]
        try give(0) { try $0.emit(.conv2d_grad_input, [dy, x[1]], [("shape", .ints(shape(0).dims))] + window) }
        try give(1) { try $0.emit(.conv2d_grad_filter, [x[0], dy], [("shape", .ints(shape(1).dims))] + window) }
    case .max_pool2d:
        try give(0) { try $0.emit(.max_pool2d_grad, [x[0], dy], poolAttributes(attrs)) }
    case .avg_pool2d:
        try give(0) { try $0.emit(.avg_pool2d_grad, [dy], [("shape", .ints(shape(0).dims))] + poolAttributes(attrs)) }

    case .transpose:
        let perm = attrs.ints("perm")
        var inverse = perm
        for (i, p) in perm.enumerated() { inverse[p] = i }
        try give(0) { try $0.emit(.transpose, [dy], [("perm", .ints(inverse))]) }
    case .reshape: try give(0) { try $0.reshape(dy, to: shape(0)) }
    case .broadcast_to: try give(0) { try $0.unbroadcast(dy, to: shape(0)) }
    case .concat:
        let rank = shape(0).rank
        let axis = attrs.int("axis") < 0 ? attrs.int("axis") + rank : attrs.int("axis")
        var offset = 0
        for i in x.indices {
            let s = shape(i)
            var begin = [Int](repeating: 0, count: rank), end = s.dims
            begin[axis] = offset
            end[axis] = offset + s[axis]
            offset += s[axis]
            try give(i) { try $0.emit(.slice, [dy], [("begin", .ints(begin)), ("end", .ints(end))]) }
        }
    case .slice:
        let begin = attrs.ints("begin"), end = attrs.ints("end")
        let after = zip(shape(0).dims, end).map { $0 - $1 }
        try give(0) { try $0.emit(.pad, [dy], [("before", .ints(begin)), ("after", .ints(after))]) }
    case .pad:
        let before = attrs.ints("before")
        let end = zip(before, shape(0).dims).map { $0 + $1 }
        try give(0) { try $0.emit(.slice, [dy], [("begin", .ints(before)), ("end", .ints(end))]) }
    case .gather:
        try give(0) { try $0.emit(.gather_grad, [dy, x[1]], [("rows", .int(shape(0)[0]))]) }

    case .reduce_sum, .reduce_mean:
        try give(0) { e in
            let keptShape = try keptReductionShape(shape(0), attrs)
            let spread = try e.broadcast(try e.reshape(dy, to: keptShape), to: shape(0))
            guard node.op == .reduce_mean else { return spread }
            return try e.mul(spread, Double(keptShape.elementCount) / Double(shape(0).elementCount))
        }
    case .reduce_max:
        // The gradient is split evenly among the elements equal to the maximum (as JAX does):
        // giving each tie the full gradient would multiply it by the number of ties, e.g. a
        // broadcast parameter reduced back by reduce_max.
        try give(0) { e in
            let keptShape = try keptReductionShape(shape(0), attrs)
            let axes = try normalizedAxes(attrs.ints("axes"), TensorType(.f32, shape(0)))
            let maxima = try e.broadcast(try e.reshape(y, to: keptShape), to: shape(0))
            let mask = try e.emit(.equal, [x[0], maxima])
            let ties = try e.emit(.reduce_sum, [mask], [("axes", .ints(axes)), ("keep_dims", .bool(true))])
            let share = try e.div(try e.reshape(dy, to: keptShape), ties)
            return try e.mul(try e.broadcast(share, to: shape(0)), mask)
        }
    case .softmax:
        // dx = y · (dy − Σ dy·y)
        try give(0) { e in
            let axis = attrs.int("axis")
            let total = try e.emit(.reduce_sum, [try e.mul(dy, y)], [("axes", .ints([axis])), ("keep_dims", .bool(true))])
            return try e.mul(y, try e.sub(dy, total))
        }
    case .log_softmax:
        // dx = dy − softmax(x) · Σ dy
        try give(0) { e in
            let axis = attrs.int("axis")
            let total = try e.emit(.reduce_sum, [dy], [("axes", .ints([axis])), ("keep_dims", .bool(true))])
            return try e.sub(dy, try e.mul(try e.emit(.exp, [y]), total))
        }

    case .softmax_cross_entropy:
        try give(0) { try $0.emit(.softmax_cross_entropy_grad, [x[0], x[1], dy]) }
    case .mse:
        // d/da mean((a−b)²) = 2(a−b)/N
        let scale = 2.0 / Double(shape(0).elementCount)
        var diff: String?
        func scaledDiff(_ e: inout NodeEmitter) throws -> String {
            if let diff { return diff }
            let made = try e.mul(try e.mul(try e.sub(x[0], x[1]), scale), dy)
            diff = made
            return made
        }
        try give(0) { try scaledDiff(&$0) }
        try give(1) { try $0.neg(try scaledDiff(&$0)) }
    case .binary_cross_entropy:
        let n = Double(shape(0).elementCount)
        try give(0) { e in
            // With p clamped to [ε, 1−ε] as the forward pass does: (p − t) / (p(1 − p)) / N
            let p = try e.emit(.min, [try e.emit(.max, [x[0], try e.constant(1e-7)]), try e.constant(1 - 1e-7)])
            let denominator = try e.mul(p, try e.sub(try e.constant(1), p))
            return try e.mul(try e.div(try e.sub(p, x[1]), denominator), try e.mul(dy, 1 / n))
        }
        try give(1) { e in
            let p = try e.emit(.min, [try e.emit(.max, [x[0], try e.constant(1e-7)]), try e.constant(1 - 1e-7)])
            let logRatio = try e.sub(try e.emit(.log, [try e.sub(try e.constant(1), p)]), try e.emit(.log, [p]))
            return try e.mul(logRatio, try e.mul(dy, 1 / n))
        }
    case .sigmoid_cross_entropy:
        let n = Double(shape(0).elementCount)
        try give(0) { e in try e.mul(try e.sub(try e.emit(.sigmoid, [x[0]]), x[1]), try e.mul(dy, 1 / n)) }
        try give(1) { e in try e.mul(try e.neg(x[0]), try e.mul(dy, 1 / n)) }
    }
    return result
}

private func poolAttributes(_ attrs: Attributes) -> [(String, AttrValue)] {
    [("window", attrs["window"] ?? .ints([1, 1])), ("stride", attrs["stride"] ?? .ints([1, 1])),
     ("padding", attrs["padding"] ?? .ints([0, 0]))]
}

/// The operand's shape with the reduced axes set to 1 (the result shape under keep_dims).
private func keptReductionShape(_ input: Shape, _ attrs: Attributes) throws -> Shape {
    let axes = try normalizedAxes(attrs.ints("axes"), TensorType(.f32, input))
    return Shape(input.dims.enumerated().map { axes.contains($0.offset) ? 1 : $0.element })
}
