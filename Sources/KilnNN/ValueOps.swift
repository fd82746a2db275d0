import KilnIR

/// Ops as methods and operators. Overloads are few and concrete (Value and Float only), so the
/// type checker stays fast on long expressions.
extension Value {
    private func op(_ kind: OpKind, _ others: [Value] = [], _ attributes: [(String, AttrValue)] = [], _ file: String, _ line: Int) -> Value {
        model.apply(kind, [self] + others, attributes, file: file, line: line)
    }

    /// Matrix product over the last two axes (rank-3 operands are batches); the transposes apply to the stored matrices.
    public func matmul(_ other: Value, transposeA: Bool = false, transposeB: Bool = false,
                       file: String = #fileID, line: Int = #line) -> Value {
        var attributes: [(String, AttrValue)] = []
        if transposeA { attributes.append(("transpose_a", .bool(true))) }
        if transposeB { attributes.append(("transpose_b", .bool(true))) }
        return op(.matmul, [other], attributes, file, line)
    }

    /// `max(x, 0)`.
    public func relu(file: String = #fileID, line: Int = #line) -> Value { op(.relu, [], [], file, line) }
    /// `1 / (1 + e^−x)`.
    public func sigmoid(file: String = #fileID, line: Int = #line) -> Value { op(.sigmoid, [], [], file, line) }
    /// Hyperbolic tangent.
    public func tanh(file: String = #fileID, line: Int = #line) -> Value { op(.tanh, [], [], file, line) }
    /// `e^x`.
    public func exp(file: String = #fileID, line: Int = #line) -> Value { op(.exp, [], [], file, line) }
    /// Natural logarithm.
    public func log(file: String = #fileID, line: Int = #line) -> Value { op(.log, [], [], file, line) }
    /// Square root.
    public func sqrt(file: String = #fileID, line: Int = #line) -> Value { op(.sqrt, [], [], file, line) }
    /// `1 / √x`.
    public func rsqrt(file: String = #fileID, line: Int = #line) -> Value { op(.rsqrt, [], [], file, line) }
    /// `x²`.
    public func square(file: String = #fileID, line: Int = #line) -> Value { op(.square, [], [], file, line) }
    /// `|x|`.
    public func abs(file: String = #fileID, line: Int = #line) -> Value { op(.abs, [], [], file, line) }
    /// `−x`.
    public func neg(file: String = #fileID, line: Int = #line) -> Value { op(.neg, [], [], file, line) }
    /// `log(1 + x)`, accurate for x near 0.
    public func log1p(file: String = #fileID, line: Int = #line) -> Value { op(.log1p, [], [], file, line) }
    /// `e^x − 1`, accurate for x near 0.
    public func expm1(file: String = #fileID, line: Int = #line) -> Value { op(.expm1, [], [], file, line) }
    /// The error function, `2/√π ∫₀ˣ e^(−t²) dt`.
    public func erf(file: String = #fileID, line: Int = #line) -> Value { op(.erf, [], [], file, line) }
    /// `x` for x > 0, `alpha·x` otherwise.
    public func leakyRelu(alpha: Double = 0.01, file: String = #fileID, line: Int = #line) -> Value {
        op(.leaky_relu, [], [("alpha", .float(alpha))], file, line)
    }
    /// `x` for x > 0, `alpha·(e^x − 1)` otherwise.
    public func elu(alpha: Double = 1, file: String = #fileID, line: Int = #line) -> Value {
        op(.elu, [], [("alpha", .float(alpha))], file, line)
    }
    /// Converts to `dtype` (to i32: truncation toward zero, saturating).
    public func cast(_ dtype: DType, file: String = #fileID, line: Int = #line) -> Value {
        op(.cast, [], [("dtype", .dtype(dtype))], file, line)
    }
    /// Inverted dropout: zeroes elements with probability `rate` and scales the rest by 1/(1 − rate); evaluation graphs drop it.
    public func dropout(rate: Double, seed: Int = 0, file: String = #fileID, line: Int = #line) -> Value {
        op(.dropout, [], [("rate", .float(rate)), ("seed", .int(seed))], file, line)
    }
    /// The same elements in a new shape (one −1 is inferred).
    public func reshape(_ shape: [Int], file: String = #fileID, line: Int = #line) -> Value {
        op(.reshape, [], [("shape", .ints(shape))], file, line)
    }
    /// Axes reordered: result axis i is axis `perm[i]`.
    public func transpose(_ perm: [Int], file: String = #fileID, line: Int = #line) -> Value {
        op(.transpose, [], [("perm", .ints(perm))], file, line)
    }
    /// Copies along new or size-1 axes up to `shape`.
    public func broadcast(to shape: [Int], file: String = #fileID, line: Int = #line) -> Value {
        op(.broadcast_to, [], [("shape", .ints(shape))], file, line)
    }
    /// Sum over `axes`.
    public func sum(axes: [Int], keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Value {
        op(.reduce_sum, [], [("axes", .ints(axes)), ("keep_dims", .bool(keepDims))], file, line)
    }
    /// Mean over `axes`.
    public func mean(axes: [Int], keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Value {
        op(.reduce_mean, [], [("axes", .ints(axes)), ("keep_dims", .bool(keepDims))], file, line)
    }
    /// Maximum over `axes`.
    public func max(axes: [Int], keepDims: Bool = false, file: String = #fileID, line: Int = #line) -> Value {
        op(.reduce_max, [], [("axes", .ints(axes)), ("keep_dims", .bool(keepDims))], file, line)
    }
    /// Softmax along `axis` (stable: the maximum is subtracted first).
    public func softmax(axis: Int = -1, file: String = #fileID, line: Int = #line) -> Value {
        op(.softmax, [], [("axis", .int(axis))], file, line)
    }
    /// Log-softmax along `axis`.
    public func logSoftmax(axis: Int = -1, file: String = #fileID, line: Int = #line) -> Value {
        op(.log_softmax, [], [("axis", .int(axis))], file, line)
    }
    /// Elements from `begin` (inclusive) to `end` (exclusive) on every axis.
    public func slice(begin: [Int], end: [Int], file: String = #fileID, line: Int = #line) -> Value {
        op(.slice, [], [("begin", .ints(begin)), ("end", .ints(end))], file, line)
    }
    /// Zeros added `before` and `after` each axis.
    public func pad(before: [Int], after: [Int], file: String = #fileID, line: Int = #line) -> Value {
        op(.pad, [], [("before", .ints(before)), ("after", .ints(after))], file, line)
    }
    /// Index (i32) of the maximum along `axis`.
    public func argmax(axis: Int, file: String = #fileID, line: Int = #line) -> Value {
        op(.argmax, [], [("axis", .int(axis))], file, line)
    }
    /// One-hot rows of length `depth` for i32 indices (zero outside [0, depth)).
    public func oneHot(depth: Int, file: String = #fileID, line: Int = #line) -> Value {
        op(.one_hot, [], [("depth", .int(depth))], file, line)
    }
    /// 1 where `self > other`, else 0.
    public func greater(_ other: Value, file: String = #fileID, line: Int = #line) -> Value { op(.greater, [other], [], file, line) }
    /// 1 where `self < other`, else 0.
    public func less(_ other: Value, file: String = #fileID, line: Int = #line) -> Value { op(.less, [other], [], file, line) }
    /// 1 where `self == other`, else 0.
    public func equal(_ other: Value, file: String = #fileID, line: Int = #line) -> Value { op(.equal, [other], [], file, line) }
    /// Elementwise maximum.
    public func maximum(_ other: Value, file: String = #fileID, line: Int = #line) -> Value { op(.max, [other], [], file, line) }
    /// Elementwise minimum.
    public func minimum(_ other: Value, file: String = #fileID, line: Int = #line) -> Value { op(.min, [other], [], file, line) }
    /// `self^other`, elementwise.
    public func pow(_ other: Value, file: String = #fileID, line: Int = #line) -> Value { op(.pow, [other], [], file, line) }
}

// Operators cannot take `file:`/`line:` defaults, so their errors are located by
// `ModelBuilder.applyOperator` (a backtrace, or the next DSL call); the named functions
// `add`, `sub`, `mul`, `div` take the caller's line directly.
/// Elementwise sum, broadcasting like NumPy.
public func + (a: Value, b: Value) -> Value { a.model.applyOperator(.add, [a, b]) }
/// Elementwise difference, broadcasting like NumPy.
public func - (a: Value, b: Value) -> Value { a.model.applyOperator(.sub, [a, b]) }
/// Elementwise product, broadcasting like NumPy.
public func * (a: Value, b: Value) -> Value { a.model.applyOperator(.mul, [a, b]) }
/// Elementwise quotient, broadcasting like NumPy.
public func / (a: Value, b: Value) -> Value { a.model.applyOperator(.div, [a, b]) }
/// Elementwise negation.
public prefix func - (a: Value) -> Value { a.model.applyOperator(.neg, [a]) }
/// `a` plus a scalar constant.
public func + (a: Value, b: Float) -> Value { a + a.model.literal(b) }
/// `a` minus a scalar constant.
public func - (a: Value, b: Float) -> Value { a - a.model.literal(b) }
/// `a` times a scalar constant.
public func * (a: Value, b: Float) -> Value { a * a.model.literal(b) }
/// `a` divided by a scalar constant.
public func / (a: Value, b: Float) -> Value { a / a.model.literal(b) }
/// A scalar constant plus `b`.
public func + (a: Float, b: Value) -> Value { b.model.literal(a) + b }
/// A scalar constant minus `b`.
public func - (a: Float, b: Value) -> Value { b.model.literal(a) - b }
/// A scalar constant times `b`.
public func * (a: Float, b: Value) -> Value { b.model.literal(a) * b }
/// A scalar constant divided by `b`.
public func / (a: Float, b: Value) -> Value { b.model.literal(a) / b }

extension ModelBuilder {
    /// The constant an operator's Float operand becomes (no line of its own, like the operator).
    func literal(_ value: Float) -> Value { applyOperator(.constant, [], [("value", .float(Double(value)))]) }
}

// Ops with several operands, as free functions.

/// Elementwise sum (the `+` operator, with the caller's line).
public func add(_ a: Value, _ b: Value, file: String = #fileID, line: Int = #line) -> Value { a.model.apply(.add, [a, b], file: file, line: line) }
/// Elementwise difference (the `-` operator, with the caller's line).
public func sub(_ a: Value, _ b: Value, file: String = #fileID, line: Int = #line) -> Value { a.model.apply(.sub, [a, b], file: file, line: line) }
/// Elementwise product (the `*` operator, with the caller's line).
public func mul(_ a: Value, _ b: Value, file: String = #fileID, line: Int = #line) -> Value { a.model.apply(.mul, [a, b], file: file, line: line) }
/// Elementwise quotient (the `/` operator, with the caller's line).
public func div(_ a: Value, _ b: Value, file: String = #fileID, line: Int = #line) -> Value { a.model.apply(.div, [a, b], file: file, line: line) }
/// The values joined along `axis`.
public func concat(_ values: [Value], axis: Int, file: String = #fileID, line: Int = #line) -> Value {
    guard let first = values.first else { return ModelBuilder("empty").poisoned }
    return first.model.apply(.concat, values, [("axis", .int(axis))], file: file, line: line)
}
/// `a` where `condition ≠ 0`, else `b`.
public func select(_ condition: Value, _ a: Value, _ b: Value, file: String = #fileID, line: Int = #line) -> Value {
    a.model.apply(.select, [condition, a, b], file: file, line: line)
}
/// Rows of `table` (axis 0) at i32 `indices`.
public func gather(_ table: Value, _ indices: Value, file: String = #fileID, line: Int = #line) -> Value {
    table.model.apply(.gather, [table, indices], file: file, line: line)
}
/// 2-D convolution of NCHW `x` with OIHW filter `w` ([O, C / groups, KH, KW] when grouped).
public func conv2d(_ x: Value, _ w: Value, stride: [Int] = [1, 1], padding: [Int] = [0, 0], groups: Int = 1,
                   file: String = #fileID, line: Int = #line) -> Value {
    x.model.apply(.conv2d, [x, w], [("stride", .ints(stride)), ("padding", .ints(padding)), ("groups", .int(groups))], file: file, line: line)
}
/// Max pooling over NCHW `x` (padding counts as −∞).
public func maxPool2d(_ x: Value, window: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0],
                      file: String = #fileID, line: Int = #line) -> Value {
    x.model.apply(.max_pool2d, [x], [("window", .ints(window)), ("stride", .ints(stride ?? window)), ("padding", .ints(padding))], file: file, line: line)
}
/// Average pooling over NCHW `x` (dividing by the full window).
public func avgPool2d(_ x: Value, window: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0],
                      file: String = #fileID, line: Int = #line) -> Value {
    x.model.apply(.avg_pool2d, [x], [("window", .ints(window)), ("stride", .ints(stride ?? window)), ("padding", .ints(padding))], file: file, line: line)
}
/// Mean softmax cross-entropy of [N, C] logits against i32 labels [N].
public func softmaxCrossEntropy(_ logits: Value, _ labels: Value, file: String = #fileID, line: Int = #line) -> Value {
    logits.model.apply(.softmax_cross_entropy, [logits, labels], file: file, line: line)
}
/// Mean squared error.
public func mse(_ prediction: Value, _ target: Value, file: String = #fileID, line: Int = #line) -> Value {
    prediction.model.apply(.mse, [prediction, target], file: file, line: line)
}
/// Mean binary cross-entropy of probabilities against targets (p clamped to [1e-7, 1 − 1e-7]).
public func binaryCrossEntropy(_ p: Value, _ target: Value, file: String = #fileID, line: Int = #line) -> Value {
    p.model.apply(.binary_cross_entropy, [p, target], file: file, line: line)
}
/// Mean binary cross-entropy computed stably from logits.
public func sigmoidCrossEntropy(_ logits: Value, _ target: Value, file: String = #fileID, line: Int = #line) -> Value {
    logits.model.apply(.sigmoid_cross_entropy, [logits, target], file: file, line: line)
}
extension ModelBuilder {
    /// Normal samples of `shape` (a counter-based stream: fixed per seed and step).
    public func randomNormal(shape: [Int], mean: Double = 0, std: Double = 1, seed: Int = 0,
                             file: String = #fileID, line: Int = #line) -> Value {
        apply(.random_normal, [], [("shape", .ints(shape)), ("mean", .float(mean)), ("std", .float(std)), ("seed", .int(seed))],
              file: file, line: line)
    }
}
