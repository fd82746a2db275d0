/// Every operation Kiln knows. This enum is the op table: each layer (shape rules here,
/// gradients in KilnPasses, kernels in KilnRuntime, emitters in KilnJIT) switches over it
/// exhaustively, so adding a case makes the compiler list every place that needs a rule.
public enum OpKind: String, CaseIterable, Sendable, Hashable {
    // Sources
    case constant, random_normal, random_uniform, iota
    // Elementwise, binary with numpy broadcasting
    case add, sub, mul, div, max, min, pow
    case equal, not_equal, less, less_equal, greater, greater_equal
    // Elementwise, ternary
    case select
    // The first operand in training graphs, the second in evaluation graphs (`eval-mode`)
    case if_training
    // Elementwise, unary
    case neg, exp, log, sqrt, rsqrt, square, abs, sign, tanh, sigmoid, relu, leaky_relu, elu, cast
    // Accurate near 0 where the composite loses digits (log(1 + x), exp(x) − 1), and erf
    case log1p, expm1, erf
    case softplus, stop_gradient
    case dropout, bernoulli
    // Contractions and convolution
    case matmul, conv2d, max_pool2d, avg_pool2d
    // Layout
    case transpose, reshape, broadcast_to, concat, slice, pad, gather, one_hot, argmax
    // Reductions and normalisations
    case reduce_sum, reduce_mean, reduce_max, softmax, log_softmax
    // Losses (scalar, averaged over the batch)
    case softmax_cross_entropy, mse, binary_cross_entropy, sigmoid_cross_entropy
    // Gradient helpers emitted by differentiation (ordinary ops: printable, runnable)
    case conv2d_grad_input, conv2d_grad_filter, max_pool2d_grad, avg_pool2d_grad
    case softmax_cross_entropy_grad, gather_grad
    // A kernel formed by fusion: its body region holds the ops it computes in one pass
    case fused

    /// The op's spelling in `.kiln` text.
    public var name: String { rawValue }

    public init?(name: String) { self.init(rawValue: name) }

    /// Broad classes that passes and backends reason about.
    public enum Category: Sendable {
        case source, elementwise, contraction, layout, reduction, loss, gradientHelper, kernel
    }

    public var category: Category {
        switch self {
        case .constant, .random_normal, .random_uniform, .iota: return .source
        case .add, .sub, .mul, .div, .max, .min, .pow,
             .equal, .not_equal, .less, .less_equal, .greater, .greater_equal, .select,
             .neg, .exp, .log, .sqrt, .rsqrt, .square, .abs, .sign, .tanh, .sigmoid, .relu,
             .leaky_relu, .elu, .cast, .log1p, .expm1, .erf, .softplus, .stop_gradient, .dropout, .bernoulli, .if_training:
            return .elementwise
        case .matmul, .conv2d, .max_pool2d, .avg_pool2d: return .contraction
        case .transpose, .reshape, .broadcast_to, .concat, .slice, .pad, .gather, .one_hot, .argmax:
            return .layout
        case .reduce_sum, .reduce_mean, .reduce_max, .softmax, .log_softmax: return .reduction
        case .softmax_cross_entropy, .mse, .binary_cross_entropy, .sigmoid_cross_entropy: return .loss
        case .conv2d_grad_input, .conv2d_grad_filter, .max_pool2d_grad, .avg_pool2d_grad,
             .softmax_cross_entropy_grad, .gather_grad:
            return .gradientHelper
        case .fused: return .kernel
        }
    }

    /// How many operands the op takes.
    public enum Arity: Sendable, Equatable {
        case exactly(Int)
        case atLeast(Int)

        public func accepts(_ count: Int) -> Bool {
            switch self {
            case .exactly(let n): return count == n
            case .atLeast(let n): return count >= n
            }
        }

        public var description: String {
            switch self {
            case .exactly(let n): return n == 1 ? "1 operand" : "\(n) operands"
            case .atLeast(let n): return "at least \(n) operand\(n == 1 ? "" : "s")"
            }
        }
    }

    public var arity: Arity {
        switch self {
        case .constant, .random_normal, .random_uniform, .iota: return .exactly(0)
        case .neg, .exp, .log, .sqrt, .rsqrt, .square, .abs, .sign, .tanh, .sigmoid, .relu,
             .leaky_relu, .elu, .cast, .log1p, .expm1, .erf, .softplus, .stop_gradient, .dropout, .bernoulli, .transpose, .reshape, .broadcast_to, .slice, .pad,
             .one_hot, .argmax, .reduce_sum, .reduce_mean, .reduce_max, .softmax, .log_softmax,
             .max_pool2d, .avg_pool2d, .avg_pool2d_grad:
            return .exactly(1)
        case .add, .sub, .mul, .div, .max, .min, .pow,
             .equal, .not_equal, .less, .less_equal, .greater, .greater_equal,
             .matmul, .conv2d, .gather, .softmax_cross_entropy, .if_training, .mse, .binary_cross_entropy,
             .sigmoid_cross_entropy, .conv2d_grad_input, .conv2d_grad_filter, .max_pool2d_grad,
             .gather_grad:
            return .exactly(2)
        case .select, .softmax_cross_entropy_grad: return .exactly(3)
        case .concat: return .atLeast(1)
        case .fused: return .atLeast(0)
        }
    }

    /// Attributes in printing order, with their kinds and defaults.
    public var attributes: [AttrSpec] {
        let window = AttrSpec("window", .ints)
        let poolStride = AttrSpec("stride", .ints, .sameAs("window"))
        let padding = AttrSpec("padding", .ints, .value(.ints([0, 0])))
        let convStride = AttrSpec("stride", .ints, .value(.ints([1, 1])))
        let seed = AttrSpec("seed", .int, .value(.int(0)))
        // Grouped convolution: input channels and filters split into `groups` independent
        // convolutions (groups = channels is depthwise); the filter is [O, C/groups, KH, KW].
        let groups = AttrSpec("groups", .int, .value(.int(1)))
        switch self {
        case .constant:
            return [AttrSpec("value", .float), AttrSpec("shape", .ints, .value(.ints([]))),
                    AttrSpec("dtype", .dtype, .value(.dtype(.f32)))]
        case .random_normal:
            return [AttrSpec("shape", .ints), AttrSpec("mean", .float, .value(.float(0))),
                    AttrSpec("std", .float, .value(.float(1))), seed]
        case .random_uniform:
            return [AttrSpec("shape", .ints), AttrSpec("low", .float, .value(.float(0))),
                    AttrSpec("high", .float, .value(.float(1))), seed]
        case .iota:
            return [AttrSpec("shape", .ints), AttrSpec("axis", .int, .value(.int(0))),
                    AttrSpec("dtype", .dtype, .value(.dtype(.i32)))]
        case .bernoulli: return [seed]
        case .leaky_relu: return [AttrSpec("alpha", .float, .value(.float(0.01)))]
        case .elu: return [AttrSpec("alpha", .float, .value(.float(1)))]
        case .cast: return [AttrSpec("dtype", .dtype)]
        case .dropout: return [AttrSpec("rate", .float), seed]
        case .matmul:
            return [AttrSpec("transpose_a", .bool, .value(.bool(false))),
                    AttrSpec("transpose_b", .bool, .value(.bool(false)))]
        case .conv2d: return [convStride, padding, groups]
        case .conv2d_grad_input, .conv2d_grad_filter:
            return [AttrSpec("shape", .ints), convStride, padding, groups]
        case .max_pool2d, .avg_pool2d, .max_pool2d_grad: return [window, poolStride, padding]
        case .avg_pool2d_grad: return [AttrSpec("shape", .ints), window, poolStride, padding]
        case .transpose: return [AttrSpec("perm", .ints)]
        case .reshape, .broadcast_to: return [AttrSpec("shape", .ints)]
        case .concat: return [AttrSpec("axis", .int)]
        case .slice: return [AttrSpec("begin", .ints), AttrSpec("end", .ints)]
        case .pad: return [AttrSpec("before", .ints), AttrSpec("after", .ints)]
        case .gather_grad: return [AttrSpec("rows", .int)]
        case .one_hot: return [AttrSpec("depth", .int)]
        case .argmax: return [AttrSpec("axis", .int)]
        case .reduce_sum, .reduce_mean, .reduce_max:
            return [AttrSpec("axes", .ints), AttrSpec("keep_dims", .bool, .value(.bool(false)))]
        case .softmax, .log_softmax: return [AttrSpec("axis", .int, .value(.int(-1)))]
        case .add, .sub, .mul, .div, .max, .min, .pow,
             .equal, .not_equal, .less, .less_equal, .greater, .greater_equal, .select,
             .neg, .exp, .log, .sqrt, .rsqrt, .square, .abs, .sign, .tanh, .sigmoid, .relu,
             .log1p, .expm1, .erf, .softplus, .stop_gradient, .if_training, .gather, .softmax_cross_entropy, .mse, .binary_cross_entropy, .sigmoid_cross_entropy,
             .softmax_cross_entropy_grad, .fused:
            return []
        }
    }

    /// Whether the op draws random numbers (its value depends on the seed and the step).
    public var isRandom: Bool {
        self == .random_normal || self == .random_uniform || self == .dropout || self == .bernoulli
    }

    public func attributeSpec(named name: String) -> AttrSpec? {
        attributes.first { $0.name == name }
    }
}

extension OpKind {
    /// The op's row in the reference table (`kiln ops`, Docs/IR.md):
    /// `` | `name` | operands | attributes (default) | ``.
    public var signatureRow: String {
        let attributes = self.attributes.map { spec -> String in
            switch spec.defaultValue {
            case .required: return "`\(spec.name)`: \(spec.kind.rawValue)"
            case .value(let v): return "`\(spec.name)`: \(spec.kind.rawValue) (\(v))"
            case .sameAs(let other): return "`\(spec.name)`: \(spec.kind.rawValue) (= \(other))"
            }
        }.joined(separator: ", ")
        return "| `\(name)` | \(arity.description) | \(attributes.isEmpty ? "—" : attributes) |"
    }
}
