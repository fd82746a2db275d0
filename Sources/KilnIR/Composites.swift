/// Activations that are compositions of graph ops, each written once here: the DSL's
/// `Activation` (KilnNN) and the ONNX importer expand the same definitions through their own
/// way of adding a node (`op`: kind, operands, attributes → the new value) and a scalar f32
/// constant (`scalar`). Their gradients come from the primitives' rules, and both backends run
/// them as the primitives they are made of (fused into one elementwise kernel by the JIT).
///
/// Still graph ops rather than compositions: `softplus` (its stable form max(x, 0) +
/// log1p(e^(−|x|)) would get its gradient through relu and abs, whose derivatives at 0 are
/// 0, where softplus′(0) = ½) and `elu`, `leaky_relu` (ops of the IR and of ONNX, written by
/// exporters as one node).
public enum Composites {
    /// x·sigmoid(αx) (swish; SiLU at α = 1, which adds no product).
    public static func swish<V>(_ x: V, alpha: Double = 1, op: (OpKind, [V], [(String, AttrValue)]) throws -> V,
                                scalar: (Double) throws -> V) rethrows -> V {
        let scaled = alpha == 1 ? x : try op(.mul, [x, try scalar(alpha)], [])
        return try op(.mul, [x, try op(.sigmoid, [scaled], [])], [])
    }

    /// Exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)).
    public static func gelu<V>(_ x: V, op: (OpKind, [V], [(String, AttrValue)]) throws -> V,
                               scalar: (Double) throws -> V) rethrows -> V {
        let e = try op(.erf, [try op(.mul, [x, try scalar(1 / 2.0.squareRoot())], [])], [])
        let half = try op(.mul, [x, try scalar(0.5)], [])
        return try op(.mul, [half, try op(.add, [try scalar(1), e], [])], [])
    }

    /// GELU's tanh form, ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    public static func geluTanh<V>(_ x: V, op: (OpKind, [V], [(String, AttrValue)]) throws -> V,
                                   scalar: (Double) throws -> V) rethrows -> V {
        let cube = try op(.mul, [try op(.square, [x], []), x], [])
        let inner = try op(.add, [x, try op(.mul, [cube, try scalar(0.044715)], [])], [])
        let th = try op(.tanh, [try op(.mul, [inner, try scalar((2 / Double.pi).squareRoot())], [])], [])
        let half = try op(.mul, [x, try scalar(0.5)], [])
        return try op(.mul, [half, try op(.add, [try scalar(1), th], [])], [])
    }

    /// SELU, γ·elu(x, α).
    public static func selu<V>(_ x: V, alpha: Double, gamma: Double, op: (OpKind, [V], [(String, AttrValue)]) throws -> V,
                               scalar: (Double) throws -> V) rethrows -> V {
        try op(.mul, [try scalar(gamma), try op(.elu, [x], [("alpha", .float(alpha))])], [])
    }

    /// x / (1 + |x|).
    public static func softsign<V>(_ x: V, op: (OpKind, [V], [(String, AttrValue)]) throws -> V,
                                   scalar: (Double) throws -> V) rethrows -> V {
        try op(.div, [x, try op(.add, [try scalar(1), try op(.abs, [x], [])], [])], [])
    }

    /// max(min(αx + β, 1), 0) (NaN stays NaN: Kiln's max and min propagate it).
    public static func hardSigmoid<V>(_ x: V, alpha: Double, beta: Double, op: (OpKind, [V], [(String, AttrValue)]) throws -> V,
                                      scalar: (Double) throws -> V) rethrows -> V {
        let affine = try op(.add, [try op(.mul, [x, try scalar(alpha)], []), try scalar(beta)], [])
        return try op(.max, [try op(.min, [affine, try scalar(1)], []), try scalar(0)], [])
    }

    /// x·tanh(softplus(x)).
    public static func mish<V>(_ x: V, op: (OpKind, [V], [(String, AttrValue)]) throws -> V,
                               scalar: (Double) throws -> V) rethrows -> V {
        try op(.mul, [x, try op(.tanh, [try op(.softplus, [x], [])], [])], [])
    }
}
