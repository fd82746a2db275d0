import KilnIR
import Testing

/// The fusion role of an op computed element by element is derived from the op table (sources,
/// random draws and ops whose element type is an attribute stay standalone), so it is pinned
/// here op by op: a change to the rule that moved one of them shows as a failure.
struct FusionRoleTests {
    static let standalonePerElement: Set<OpKind> = [.constant, .iota, .random_normal, .random_uniform, .dropout, .bernoulli, .cast]

    @Test("an op computed per element fuses as elementwise unless it draws by index or changes the element type",
          arguments: OpKind.allCases.filter(\.isComputedPerElement))
    func perElement(_ op: OpKind) {
        let expected: FusionRole = Self.standalonePerElement.contains(op) ? .standalone : .elementwise
        #expect(op.fusionRole == expected, "\(op.name)")
    }

    @Test("structural ops: contractions head kernels, reductions end them, four layout ops are index maps")
    func structural() {
        #expect(OpKind.matmul.fusionRole == .contraction && OpKind.conv2d.fusionRole == .contraction)
        #expect([OpKind.reduce_sum, .reduce_mean, .reduce_max].allSatisfy { $0.fusionRole == .reduction })
        #expect([OpKind.transpose, .reshape, .slice, .pad].allSatisfy { $0.fusionRole == .indexMap })
        #expect([OpKind.softmax, .concat, .gather_grad, .fused, .max_pool2d].allSatisfy { $0.fusionRole == .standalone })
    }
}
