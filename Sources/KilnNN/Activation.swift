import KilnIR

/// An activation applied after a layer's affine part, or on its own (`Activation.relu(x)`,
/// or as a step of a ``Sequential``).
///
/// Every activation op of the IR has a case; the composite ones below are written with
/// existing ops — the definitions in `Composites` (KilnIR), which ONNX import expands too —
/// so they differentiate and compile like any other graph.
public enum Activation: Sendable, Hashable, CaseIterable {
    /// The identity: no op is added.
    case none
    /// `max(x, 0)` (the `relu` op).
    case relu
    /// The `tanh` op.
    case tanh
    /// `1 / (1 + e^−x)` (the `sigmoid` op).
    case sigmoid
    /// `x` for x > 0, `alpha·x` otherwise (the `leaky_relu` op).
    case leakyRelu(_ alpha: Double = 0.01)
    /// `x` for x > 0, `alpha·(e^x − 1)` otherwise (the `elu` op).
    case elu(_ alpha: Double = 1)
    /// Softmax over the last axis (the `softmax` op).
    case softmax
    /// Log-softmax over the last axis (the `log_softmax` op).
    case logSoftmax
    /// `x·sigmoid(x)` (SiLU / swish), composite.
    case swish
    /// GELU, the tanh approximation `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, composite.
    case gelu
    /// Exact GELU, `x·Φ(x) = 0.5·x·(1 + erf(x/√2))`, composite (the `erf` op).
    case geluExact
    /// SELU: `1.0507·elu(x, 1.67326)`, composite.
    case selu
    /// `min(max(x, 0), 6)`, composite.
    case relu6
    /// `x / (1 + |x|)`, composite.
    case softsign
    /// `min(max(0.2·x + 0.5, 0), 1)` (Keras's hard sigmoid), composite.
    case hardSigmoid
    /// `log(1 + exp(x))`, the `softplus` op (stable for large |x|).
    case softplus
    /// `x · tanh(softplus(x))`, composite.
    case mish

    /// Every activation with its default parameters (tests check each one's gradient).
    public static var allCases: [Activation] {
        [.none, .relu, .tanh, .sigmoid, .leakyRelu(), .elu(), .softmax, .logSoftmax,
         .swish, .gelu, .geluExact, .selu, .relu6, .softsign, .hardSigmoid, .softplus, .mish]
    }

    /// Applies the activation to `x`.
    public func callAsFunction(_ x: Value, file: String = #fileID, line: Int = #line) -> Value {
        apply(x, file: file, line: line)
    }

    func apply(_ x: Value, file: String, line: Int) -> Value {
        let m = x.model
        func c(_ v: Float) -> Value { m.constant(v, file: file, line: line) }
        // The emitters `Composites` builds with: nodes and constants at the caller's line.
        func op(_ kind: OpKind, _ operands: [Value], _ attributes: [(String, AttrValue)]) -> Value {
            m.apply(kind, operands, attributes, file: file, line: line)
        }
        func scalar(_ v: Double) -> Value { c(Float(v)) }
        switch self {
        case .none: return x
        case .relu: return x.relu(file: file, line: line)
        case .tanh: return x.tanh(file: file, line: line)
        case .sigmoid: return x.sigmoid(file: file, line: line)
        case .leakyRelu(let alpha): return x.leakyRelu(alpha: alpha, file: file, line: line)
        case .elu(let alpha): return x.elu(alpha: alpha, file: file, line: line)
        case .softmax: return x.softmax(file: file, line: line)
        case .logSoftmax: return x.logSoftmax(file: file, line: line)
        case .swish: return Composites.swish(x, op: op, scalar: scalar)
        case .gelu: return Composites.geluTanh(x, op: op, scalar: scalar)
        case .geluExact: return Composites.gelu(x, op: op, scalar: scalar)
        case .selu: return Composites.selu(x, alpha: 1.6732632423543772, gamma: 1.0507009873554805, op: op, scalar: scalar)
        case .relu6: return x.relu(file: file, line: line).minimum(c(6), file: file, line: line)
        case .softsign: return Composites.softsign(x, op: op, scalar: scalar)
        case .softplus: return x.softplus(file: file, line: line)
        case .mish: return Composites.mish(x, op: op, scalar: scalar)
        case .hardSigmoid: return Composites.hardSigmoid(x, alpha: 0.2, beta: 0.5, op: op, scalar: scalar)
        }
    }
}

/// An activation as a layer of its own (what an ``Activation`` becomes inside ``Sequential``).
public final class ActivationLayer: Layer {
    /// The activation applied.
    public let activation: Activation

    /// A layer applying `activation`.
    public init(_ activation: Activation) { self.activation = activation }

    /// Applies the activation.
    public func forward(_ x: Value, at site: CallSite) -> Value { activation.apply(x, file: site.file, line: site.line) }
}
