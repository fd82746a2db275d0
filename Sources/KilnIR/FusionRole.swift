/// The code generator's capability table: what each op can be inside a fused kernel. Fusion
/// (KilnPasses) forms only kernels the code generator (KilnCodegen) emits, and both read this
/// one rule, so a fused kernel is never interpreted. Structural ops (`StructuralOp`) each have a
/// case; an op computed element by element is `elementwise` unless the op table says it draws
/// from the flat index or changes the element type (`FusionRoleTests` pins which those are).
public enum FusionRole: Sendable, Equatable {
    /// Computed element by element at the kernel's iteration index: joins any kernel.
    case elementwise
    /// A layout op read through an index map (element i of the result is element f(i) of the
    /// operand): joins a kernel as a leaf, its operand read from memory.
    case indexMap
    /// Heads a kernel (a GEMM or convolution into the result buffer) with an elementwise epilogue.
    case contraction
    /// Ends a kernel whose elementwise producers are computed inside its loops.
    case reduction
    /// Runs as a kernel of its own.
    case standalone
}

extension OpKind {
    public var fusionRole: FusionRole {
        guard let op = structural else {
            // Computed element by element: joins any kernel, except what is kept standalone so
            // that each stays one visible kernel (their lowering is elementwise all the same):
            // sources and random draws, which compute from the flat index, and ops whose element
            // type is an attribute (cast, and the sources constant and iota), which change it.
            let keptStandalone = category == .source || isRandom || attributes.contains { $0.kind == .dtype }
            return keptStandalone ? .standalone : .elementwise
        }
        switch op {
        case .matmul, .conv2d: return .contraction
        case .reduce_sum, .reduce_mean, .reduce_max: return .reduction
        case .transpose, .reshape, .slice, .pad: return .indexMap
        case .max_pool2d, .avg_pool2d, .concat, .gather, .one_hot, .argmax,
             .softmax, .log_softmax, .softmax_cross_entropy, .mse, .binary_cross_entropy, .sigmoid_cross_entropy,
             .conv2d_grad_input, .conv2d_grad_filter, .max_pool2d_grad, .avg_pool2d_grad,
             .softmax_cross_entropy_grad, .gather_grad, .fused:
            return .standalone
        }
    }
}

/// The ops a fused kernel reads through an index map (`FusionRole.indexMap`), declared once as
/// a set on the op table: the code generator switches over these four, so an op outside the
/// set (a new elementwise op, say) needs no case there. `OpKind.indexMap` and `fusionRole`
/// agree for every op (`OpTableSetsTests`).
public enum IndexMap: String, CaseIterable, Sendable {
    case transpose, slice, pad, reshape
}

extension OpKind {
    /// The index map this op is, or nil.
    public var indexMap: IndexMap? { IndexMap(rawValue: rawValue) }
}
