import KilnIR

/// What each elementwise op computes on one element, as a loop-IR expression: the code
/// generator's single definition of the op. The interpreter's Swift kernels
/// (`KilnRuntime.ElementwiseKernels`) compute the same functions; `ScalarSemanticsTests`
/// sweeps every op over dense and edge values (±0, denormals, ±inf, NaN, huge) on both.
public enum ScalarSemantics {
    /// Where the element sits: random ops draw from the stream at `flatIndex`.
    public struct Element {
        public var flatIndex: Expr
        public init(flatIndex: Expr) { self.flatIndex = flatIndex }
    }

    /// The value of elementwise `node` from its operands' values (`x`, in operand order) of
    /// element types `types`; nil for ops that are not elementwise.
    public static func value(of node: Node, _ x: [Expr], types: [ScalarType], at element: Element) -> Expr? {
        let attrs = node.attributes
        let t = types.first ?? .f32
        let isFloat = t == .f32
        let one: Expr = isFloat ? .f32(1) : .i32(1), zero: Expr = isFloat ? .f32(0) : .i32(0)
        func flag(_ c: Comparison) -> Expr { .select(.compare(c, x[0], x[1]), one, zero) }
        switch node.op {
        case .add: return .binary(.add, x[0], x[1])
        case .sub: return .binary(.sub, x[0], x[1])
        case .mul: return .binary(.mul, x[0], x[1])
        case .div:
            if isFloat { return .binary(.div, x[0], x[1]) }
            // i32: division by zero gives 0; Int32.min / -1 wraps (no trap).
            let byZero = x[1].compare(.eq, .i32(0))
            let overflow = x[0].compare(.eq, .i32(Int32.min)).and(x[1].compare(.eq, .i32(-1)))
            let safe = Expr.select(byZero.or(overflow), .i32(1), x[1])
            return .select(byZero, .i32(0), .select(overflow, .i32(Int32.min), .binary(.div, x[0], safe)))
        case .max: return .binary(.maxNaN, x[0], x[1])
        case .min: return .binary(.minNaN, x[0], x[1])
        case .pow: return .binary(.pow, x[0], x[1])
        case .equal: return flag(.eq)
        case .not_equal: return flag(.ne)
        case .less: return flag(.lt)
        case .less_equal: return flag(.le)
        case .greater: return flag(.gt)
        case .greater_equal: return flag(.ge)
        case .select:
            let cond = x[0].compare(.ne, types[0] == .f32 ? .f32(0) : .i32(0))
            return .select(cond, x[1], x[2])
        case .neg: return isFloat ? .unary(.neg, x[0]) : .binary(.sub, .i32(0), x[0])
        case .abs: return .unary(.abs, x[0])
        case .square: return .binary(.mul, x[0], x[0])
        case .sign:
            return .select(x[0].compare(.gt, zero), one, .select(x[0].compare(.lt, zero), isFloat ? .f32(-1) : .i32(-1), zero))
        case .relu: return .select(x[0].compare(.le, zero), zero, x[0])  // NaN ≤ 0 is false: NaN propagates, as in NumPy/PyTorch
        case .exp: return .unary(.exp, x[0])
        case .log: return .unary(.log, x[0])
        case .log1p: return .unary(.log1p, x[0])
        case .expm1: return .unary(.expm1, x[0])
        case .erf: return erf(x[0])
        case .sqrt: return .unary(.sqrt, x[0])
        case .rsqrt: return .binary(.div, .f32(1), .unary(.sqrt, x[0]))
        case .tanh: return .unary(.tanh, x[0])
        case .sigmoid: return .unary(.sigmoid, x[0])
        case .leaky_relu:
            let alpha = Expr.f32(Float(attrs.float("alpha")))
            return .select(x[0].compare(.gt, .f32(0)), x[0], .binary(.mul, alpha, x[0]))
        case .elu:
            let alpha = Expr.f32(Float(attrs.float("alpha")))
            return .select(x[0].compare(.gt, .f32(0)), x[0], .binary(.mul, alpha, .unary(.expm1, x[0])))
        case .cast:
            return .convert(x[0], ScalarType(attrs.dtype("dtype")))
        case .dropout:
            let rate = Float(attrs.float("rate"))
            let keep = Expr.random(.uniform, seed: attrs.int("seed"), index: element.flatIndex).compare(.ge, .f32(rate))
            return .select(keep, .binary(.mul, x[0], .f32(1 / (1 - rate))), .f32(0))
        case .softplus:
            // max(x, 0) + log1p(exp(−|x|)): stable for large |x|, as the interpreter computes it.
            let positive = Expr.select(x[0].compare(.gt, .f32(0)), x[0], .f32(0))
            return .binary(.add, positive, .unary(.log1p, .unary(.exp, .unary(.neg, .unary(.abs, x[0])))))
        case .stop_gradient, .if_training:
            return x[0]
        case .bernoulli:
            let u = Expr.random(.uniform, seed: attrs.int("seed"), index: element.flatIndex)
            return .select(u.compare(.lt, x[0]), .f32(1), .f32(0))
        case .random_uniform:
            let low = Float(attrs.float("low")), width = Float(attrs.float("high")) - Float(attrs.float("low"))
            let u = Expr.random(.uniform, seed: attrs.int("seed"), index: element.flatIndex)
            return .binary(.add, .f32(low), .binary(.mul, .f32(width), u))
        case .iota:
            // The flat index's coordinate along `axis`, read from the shape the node produces.
            guard let type = node.type, let axis = try? normalizedAxis(attrs.int("axis"), rank: type.rank, type) else { return nil }
            let inner = type.shape.dims[(axis + 1)...].reduce(1, *)
            let coordinate = element.flatIndex.div(inner).rem(type.shape[axis])
            return .convert(coordinate, ScalarType(attrs.dtype("dtype")))
        case .broadcast_to:
            // The index arithmetic broadcast the operand already.
            return x[0]
        case .constant:
            let value = attrs.float("value")
            if attrs.dtype("dtype") == .i32 { return .i32(Int32(saturating: value)) }
            return .f32(Float(value))
        case .random_normal:
            let normal = Expr.random(.normal, seed: attrs.int("seed"), index: element.flatIndex)
            return .binary(.add, .f32(Float(attrs.float("mean"))), .binary(.mul, .f32(Float(attrs.float("std"))), normal))
        case .matmul, .conv2d, .max_pool2d, .avg_pool2d, .transpose, .reshape, .concat, .slice, .pad,
             .gather, .one_hot, .argmax, .reduce_sum, .reduce_mean, .reduce_max, .softmax, .log_softmax,
             .softmax_cross_entropy, .mse, .binary_cross_entropy, .sigmoid_cross_entropy,
             .conv2d_grad_input, .conv2d_grad_filter, .max_pool2d_grad, .avg_pool2d_grad,
             .softmax_cross_entropy_grad, .gather_grad, .fused:
            return nil
        }
    }

    /// erf from the loop IR's own operations: a Taylor series for |x| < 0.5 (the next term is
    /// below 3e-8 relative) and Abramowitz & Stegun 7.1.26 beyond (|error| ≤ 1.5e-7, under 3e-7
    /// relative since erf ≥ 0.52 there), selected per element; ±inf give ±1, NaN stays NaN.
    /// The interpreter computes glibc's `erff`, which `ScalarSemanticsTests` holds this to.
    static func erf(_ x: Expr) -> Expr {
        func horner(_ v: Expr, _ coefficients: [Double]) -> Expr {
            coefficients.dropFirst().reduce(Expr.f32(Float(coefficients[0]))) { .binary(.add, .binary(.mul, $0, v), .f32(Float($1))) }
        }
        let x2 = Expr.binary(.mul, x, x), ax = Expr.unary(.abs, x)
        // x·2/√π·(1 − x²/3 + x⁴/10 − x⁶/42 + x⁸/216 − x¹⁰/1320)
        let series = horner(x2, [-1.0 / 1320, 1.0 / 216, -1.0 / 42, 1.0 / 10, -1.0 / 3, 1.0])
        let small = Expr.binary(.mul, .binary(.mul, x, .f32(Float(2 / Double.pi.squareRoot()))), series)
        // 1 − (a₁t + … + a₅t⁵)·e^(−x²), t = 1/(1 + p|x|), with the sign of x
        let t = Expr.binary(.div, .f32(1), .binary(.add, .f32(1), .binary(.mul, .f32(0.3275911), ax)))
        let poly = Expr.binary(.mul, horner(t, [1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592]), t)
        let magnitude = Expr.binary(.sub, .f32(1), .binary(.mul, poly, .unary(.exp, .unary(.neg, x2))))
        let large = Expr.select(x.compare(.lt, .f32(0)), .unary(.neg, magnitude), magnitude)
        return .select(ax.compare(.lt, .f32(0.5)), small, large)
    }
}
