/// The ops of category `.contraction`, declared once as a set on the op table: what needs a
/// rule per contraction (the FLOP count of `GraphSummary`) switches over these four, and every
/// other op is answered from its `category`, so a new elementwise op needs no case there.
/// `OpTableSetsTests` checks the set against `category` for every op.
public enum ContractionOp: String, CaseIterable, Sendable {
    case matmul, conv2d, max_pool2d, avg_pool2d
}

extension OpKind {
    /// The contraction this op is, or nil.
    public var contraction: ContractionOp? { ContractionOp(rawValue: rawValue) }
}
