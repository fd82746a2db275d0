import KilnIR

/// The activation functions ONNX's `RNN`, `GRU` and `LSTM` accept (their `activations`
/// attribute), as Kiln ops, with `activation_alpha`/`activation_beta` values.
struct RecurrentActivation {
    var name: String
    var alpha: Double
    var beta: Double

    /// (alpha, beta) defaults per function; nil for a name ONNX does not define. A function
    /// without a parameter has nil there and consumes no value from the lists.
    static let defaults: [String: (alpha: Double?, beta: Double?)] = [
        "relu": (nil, nil), "tanh": (nil, nil), "sigmoid": (nil, nil), "softsign": (nil, nil), "softplus": (nil, nil),
        "affine": (1, 0), "leakyrelu": (0.01, nil), "thresholdedrelu": (1, nil), "scaledtanh": (1, 1),
        "hardsigmoid": (0.2, 0.5), "elu": (1, nil),
    ]

    /// The functions of `names` (or `fallback` when the attribute is absent), taking alphas and
    /// betas from the lists in order, as onnxruntime does, for the functions that have them.
    static func parse(_ names: [String]?, fallback: [String], alphas: [Double]?, betas: [Double]?) throws -> [RecurrentActivation] {
        var alphaList = alphas ?? [], betaList = betas ?? []
        return try (names ?? fallback).map { raw in
            let name = raw.lowercased()
            guard let d = defaults[name] else { throw ConversionError("activation '\(raw)' is not supported (ONNX's recurrent activations: Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus)") }
            var alpha = 0.0, beta = 0.0
            if let a = d.alpha { alpha = alphaList.isEmpty ? a : alphaList.removeFirst() }
            if let b = d.beta { beta = betaList.isEmpty ? b : betaList.removeFirst() }
            return RecurrentActivation(name: name, alpha: alpha, beta: beta)
        }
    }

    func apply(_ ctx: ImportContext, _ x: String) throws -> String {
        func c(_ v: Double) throws -> String { try ctx.constantNode(v) }
        switch name {
        case "relu": return try ctx.emit(.relu, [x])
        case "tanh": return try ctx.emit(.tanh, [x])
        case "sigmoid": return try ctx.emit(.sigmoid, [x])
        case "softplus": return try ctx.emit(.softplus, [x])
        case "softsign": return try ctx.emit(.div, [x, try ctx.emit(.add, [try c(1), try ctx.emit(.abs, [x])])])
        case "affine": return try ctx.emit(.add, [try ctx.emit(.mul, [x, try c(alpha)]), try c(beta)])
        case "leakyrelu": return try ctx.emit(.leaky_relu, [x], [("alpha", .float(alpha))])
        case "elu": return try ctx.emit(.elu, [x], [("alpha", .float(alpha))])
        case "thresholdedrelu": return try ctx.emit(.select, [try ctx.emit(.greater, [x, try c(alpha)]), x, try c(0)])
        case "scaledtanh": return try ctx.emit(.mul, [try c(alpha), try ctx.emit(.tanh, [try ctx.emit(.mul, [x, try c(beta)])])])
        case "hardsigmoid":
            let affine = try ctx.emit(.add, [try ctx.emit(.mul, [x, try c(alpha)]), try c(beta)])
            return try ctx.emit(.max, [try ctx.emit(.min, [affine, try c(1)]), try c(0)])
        default: throw ConversionError("activation '\(name)' is not supported")
        }
    }
}
