/// What each elementwise op computes on one element: the single definition both backends
/// evaluate. The code generator (KilnCodegen.ScalarSemantics) instantiates it with loop-IR
/// expressions the JIT renders; the interpreter (KilnRuntime.ElementwiseProgram) with chunks
/// of elements. `ScalarSemanticsTests` sweeps every op whose `fusionRole` is elementwise, and
/// the standalone elementwise ones, over dense and edge values on both backends.
public enum ElementwiseMeaning {
    /// The value of elementwise `node` from its operands' values (`x`, in operand order) of
    /// element types `types`; nil for ops that are not computed element by element.
    public static func value<S: ScalarAlgebra>(of node: Node, _ x: [S], types: [DType], at position: S.Position) -> S? {
        let attrs = node.attributes
        let isFloat = (types.first ?? .f32) == .f32
        let one: S = isFloat ? .f32(1) : .i32(1), zero: S = isFloat ? .f32(0) : .i32(0)
        func flag(_ c: ScalarComparison) -> S { .choose(.test(c, x[0], x[1]), one, zero) }
        switch node.op {
        case .add: return .combine(.add, x[0], x[1])
        case .sub: return .combine(.sub, x[0], x[1])
        case .mul: return .combine(.mul, x[0], x[1])
        case .div:
            if isFloat { return .combine(.div, x[0], x[1]) }
            // i32: division by zero gives 0; Int32.min / -1 wraps (no trap).
            let byZero = S.test(.eq, x[1], .i32(0))
            let overflow = S.both(.test(.eq, x[0], .i32(Int32.min)), .test(.eq, x[1], .i32(-1)))
            let safe = S.choose(.either(byZero, overflow), .i32(1), x[1])
            return .choose(byZero, .i32(0), .choose(overflow, .i32(Int32.min), .combine(.div, x[0], safe)))
        case .max: return .combine(.maxNaN, x[0], x[1])
        case .min: return .combine(.minNaN, x[0], x[1])
        case .pow: return .combine(.pow, x[0], x[1])
        case .equal: return flag(.eq)
        case .not_equal: return flag(.ne)
        case .less: return flag(.lt)
        case .less_equal: return flag(.le)
        case .greater: return flag(.gt)
        case .greater_equal: return flag(.ge)
        case .select:
            let cond = S.test(.ne, x[0], types[0] == .f32 ? .f32(0) : .i32(0))
            return .choose(cond, x[1], x[2])
        case .neg: return isFloat ? .apply(.neg, x[0]) : .combine(.sub, .i32(0), x[0])
        case .abs: return .apply(.abs, x[0])
        case .square: return .combine(.mul, x[0], x[0])
        case .sign:
            return .choose(.test(.gt, x[0], zero), one, .choose(.test(.lt, x[0], zero), isFloat ? .f32(-1) : .i32(-1), zero))
        case .relu: return .choose(.test(.le, x[0], zero), zero, x[0])  // NaN ≤ 0 is false: NaN propagates, as in NumPy/PyTorch
        case .exp: return .apply(.exp, x[0])
        case .log: return .apply(.log, x[0])
        case .log1p: return .apply(.log1p, x[0])
        case .expm1: return .apply(.expm1, x[0])
        case .erf: return erf(x[0])
        case .sqrt: return .apply(.sqrt, x[0])
        case .rsqrt: return .combine(.div, .f32(1), .apply(.sqrt, x[0]))
        case .tanh: return .apply(.tanh, x[0])
        case .sigmoid: return .apply(.sigmoid, x[0])
        case .leaky_relu:
            let alpha = S.f32(Float(attrs.float("alpha")))
            return .choose(.test(.gt, x[0], .f32(0)), x[0], .combine(.mul, alpha, x[0]))
        case .elu:
            let alpha = S.f32(Float(attrs.float("alpha")))
            return .choose(.test(.gt, x[0], .f32(0)), x[0], .combine(.mul, alpha, .apply(.expm1, x[0])))
        case .cast:
            return .convert(x[0], to: attrs.dtype("dtype"))
        case .dropout:
            let rate = Float(attrs.float("rate"))
            let keep = S.test(.ge, .random(.uniform, seed: attrs.int("seed"), at: position), .f32(rate))
            return .choose(keep, .combine(.mul, x[0], .f32(1 / (1 - rate))), .f32(0))
        case .softplus:
            // max(x, 0) + log1p(exp(−|x|)): never exponentiates a positive number.
            let positive = S.choose(.test(.gt, x[0], .f32(0)), x[0], .f32(0))
            return .combine(.add, positive, .apply(.log1p, .apply(.exp, .apply(.neg, .apply(.abs, x[0])))))
        case .stop_gradient, .if_training:
            // if_training: the training value; `eval-mode` rewrites the node before an evaluation graph runs.
            return x[0]
        case .bernoulli:
            // P(1) = p for p in [0, 1] (24-bit uniforms: p is effectively rounded to a multiple of 2⁻²⁴).
            let u = S.random(.uniform, seed: attrs.int("seed"), at: position)
            return .choose(.test(.lt, u, x[0]), .f32(1), .f32(0))
        case .random_uniform:
            let low = Float(attrs.float("low")), width = Float(attrs.float("high")) - Float(attrs.float("low"))
            let u = S.random(.uniform, seed: attrs.int("seed"), at: position)
            return .combine(.add, .f32(low), .combine(.mul, .f32(width), u))
        case .iota:
            // The flat index's coordinate along `axis`, read from the shape the node produces.
            guard let type = node.type, let axis = try? normalizedAxis(attrs.int("axis"), rank: type.rank, type) else { return nil }
            let inner = type.shape.dims[(axis + 1)...].reduce(1, *)
            return .coordinate(at: position, inner: inner, extent: type.shape[axis], as: attrs.dtype("dtype"))
        case .broadcast_to:
            // The index arithmetic (or the interpreter's operand walk) broadcast the operand already.
            return x[0]
        case .constant:
            let value = attrs.float("value")
            if attrs.dtype("dtype") == .i32 { return .i32(Int32(saturating: value)) }
            return .f32(Float(value))
        case .random_normal:
            let normal = S.random(.normal, seed: attrs.int("seed"), at: position)
            return .combine(.add, .f32(Float(attrs.float("mean"))), .combine(.mul, .f32(Float(attrs.float("std"))), normal))
        case .matmul, .conv2d, .max_pool2d, .avg_pool2d, .transpose, .reshape, .concat, .slice, .pad,
             .gather, .one_hot, .argmax, .reduce_sum, .reduce_mean, .reduce_max, .softmax, .log_softmax,
             .softmax_cross_entropy, .mse, .binary_cross_entropy, .sigmoid_cross_entropy,
             .conv2d_grad_input, .conv2d_grad_filter, .max_pool2d_grad, .avg_pool2d_grad,
             .softmax_cross_entropy_grad, .gather_grad, .fused:
            return nil
        }
    }

    /// erf from the algebra's own operations: a Taylor series for |x| < 0.5 (the next term is
    /// below 3e-8 relative) and Abramowitz & Stegun 7.1.26 beyond (|error| ≤ 1.5e-7, under 3e-7
    /// relative since erf ≥ 0.52 there), selected per element; ±inf give ±1, NaN stays NaN.
    /// Both backends compute this same expansion; `ScalarSemanticsTests` holds it to erf within 4e-7.
    static func erf<S: ScalarAlgebra>(_ x: S) -> S {
        func horner(_ v: S, _ coefficients: [Double]) -> S {
            coefficients.dropFirst().reduce(S.f32(Float(coefficients[0]))) { .combine(.add, .combine(.mul, $0, v), .f32(Float($1))) }
        }
        let x2 = S.combine(.mul, x, x), ax = S.apply(.abs, x)
        // x·2/√π·(1 − x²/3 + x⁴/10 − x⁶/42 + x⁸/216 − x¹⁰/1320)
        let series = horner(x2, [-1.0 / 1320, 1.0 / 216, -1.0 / 42, 1.0 / 10, -1.0 / 3, 1.0])
        let small = S.combine(.mul, .combine(.mul, x, .f32(Float(2 / Double.pi.squareRoot()))), series)
        // 1 − (a₁t + … + a₅t⁵)·e^(−x²), t = 1/(1 + p|x|), with the sign of x
        let t = S.combine(.div, .f32(1), .combine(.add, .f32(1), .combine(.mul, .f32(0.3275911), ax)))
        let poly = S.combine(.mul, horner(t, [1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592]), t)
        let magnitude = S.combine(.sub, .f32(1), .combine(.mul, poly, .apply(.exp, .apply(.neg, x2))))
        let large = S.choose(.test(.lt, x, .f32(0)), .apply(.neg, magnitude), magnitude)
        return .choose(.test(.lt, ax, .f32(0.5)), small, large)
    }
}
