/// The ops that are not computed element by element — contractions, windows, layout, reductions,
/// losses, gradient helpers, fused kernels — declared once as a second enum of the op table.
/// Every other op is computed element by element from its one definition
/// (`ElementwiseMeaning`), so the layers whose only per-op decision for those is "run the
/// definition" (the interpreter's `Kernels`, the code generator's `Lowering`, the fusion roles)
/// switch exhaustively over this enum instead of over `OpKind`: a new structural op still makes
/// the compiler list them, while a new elementwise op needs no case there.
/// `StructuralOpTests` requires every op of `OpKind.allCases` to be exactly one of the two: a
/// structural op here, or an op with an elementwise definition.
public enum StructuralOp: String, CaseIterable, Sendable {
    // Contractions and windows
    case matmul, conv2d, max_pool2d, avg_pool2d
    // Layout (broadcast_to is computed element by element: its operand is read broadcast)
    case transpose, reshape, concat, slice, pad, gather, one_hot, argmax
    // Reductions and normalisations
    case reduce_sum, reduce_mean, reduce_max, softmax, log_softmax
    // Losses
    case softmax_cross_entropy, mse, binary_cross_entropy, sigmoid_cross_entropy
    // Gradient helpers
    case conv2d_grad_input, conv2d_grad_filter, max_pool2d_grad, avg_pool2d_grad
    case softmax_cross_entropy_grad, gather_grad
    // A kernel formed by fusion
    case fused

    /// The op of the table this is.
    public var op: OpKind? { OpKind(rawValue: rawValue) }
}

extension OpKind {
    /// This op as a structural op; nil when it is computed element by element (it has an
    /// `ElementwiseMeaning`).
    public var structural: StructuralOp? { StructuralOp(rawValue: rawValue) }

    /// Whether the op is computed element by element from its one definition.
    public var isComputedPerElement: Bool { structural == nil }
}
