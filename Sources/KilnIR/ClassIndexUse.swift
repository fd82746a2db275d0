/// Where an op reads integer class indices and what bounds them, declared once on the op table
/// for the ops that do (softmax cross-entropy and its gradient, one_hot, gather and its
/// gradient); every other op reads none, so adding an op touches nothing here. Tools that make
/// up inputs (`ComparisonInputs` in KilnCheck) draw labels over the whole range this implies.
public struct ClassIndexUse: Sendable, Equatable {
    /// The operand holding the indices.
    public let indices: Int
    /// What bounds them.
    public let bound: Bound

    public enum Bound: Sendable, Equatable {
        /// The last dimension of an operand (the logits' width).
        case lastDimension(ofOperand: Int)
        /// The first dimension of an operand (a table's rows).
        case firstDimension(ofOperand: Int)
        /// An integer attribute (a one-hot depth, a scatter's rows).
        case attribute(String)
    }

    /// The declared set.
    static let declared: [OpKind: ClassIndexUse] = [
        .softmax_cross_entropy: ClassIndexUse(indices: 1, bound: .lastDimension(ofOperand: 0)),
        .softmax_cross_entropy_grad: ClassIndexUse(indices: 1, bound: .lastDimension(ofOperand: 0)),
        .one_hot: ClassIndexUse(indices: 0, bound: .attribute("depth")),
        .gather: ClassIndexUse(indices: 1, bound: .firstDimension(ofOperand: 0)),
        .gather_grad: ClassIndexUse(indices: 1, bound: .attribute("rows")),
    ]
}

extension OpKind {
    /// Where this op reads class indices, or nil for an op that reads none.
    public var classIndexUse: ClassIndexUse? { ClassIndexUse.declared[self] }
}
