import KilnIR
import Testing

/// Every op is exactly one of: a structural op (`StructuralOp`, switched over exhaustively by
/// the interpreter's kernels and the lowering), or an op computed element by element from its
/// definition (`ElementwiseMeaning`). An op that were neither would reach the elementwise path
/// without a definition; one that were both would have a kernel nothing runs.
struct StructuralOpTests {
    @Test("an op is structural exactly when it has no elementwise definition", arguments: OpKind.allCases)
    func exactlyOne(_ op: OpKind) {
        let defined = ElementwiseMeaningTests.meaning(op) != nil
        #expect((op.structural == nil) == defined, "\(op.name): structural \(op.structural.map(\.rawValue) ?? "no"), definition \(defined)")
        #expect(op.isComputedPerElement == (op.structural == nil))
    }

    @Test("every structural op names an op of the table", arguments: StructuralOp.allCases)
    func namesAnOp(_ op: StructuralOp) {
        #expect(op.op?.structural == op, "\(op.rawValue)")
    }

    @Test("elementwise ops, sources and broadcast_to are computed per element; layout, reductions and losses are not")
    func examples() {
        for op in [OpKind.add, .softplus, .cast, .dropout, .constant, .iota, .broadcast_to, .if_training] {
            #expect(op.isComputedPerElement, "\(op.name)")
        }
        for op in [OpKind.matmul, .reshape, .reduce_sum, .softmax, .mse, .gather_grad, .fused] {
            #expect(!op.isComputedPerElement, "\(op.name)")
        }
    }
}
