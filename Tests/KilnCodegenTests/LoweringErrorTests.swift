import KilnCodegen
import KilnIR
import Testing

/// A malformed node reaching the code generator — a body value without a type, a value read
/// before it is defined — is an internal error naming the value, never a kernel that silently
/// computes with a placeholder (0 or an f32 scalar). Each path of the fused lowerings is hit:
/// plain elementwise bodies, index-mapped bodies, a contraction's tile epilogue, a fused
/// reduction's producers.
struct LoweringErrorTests {
    static let vector = TensorType(.f32, [4])

    static func attributes(_ op: OpKind, _ values: [(String, AttrValue)]) throws -> Attributes {
        try op.normalize(values, at: nil)
    }

    static func fused(_ name: String, operands: [String], type: TensorType, _ body: [Node]) -> Node {
        Node(name: name, op: .fused, operands: operands, type: type, region: body)
    }

    static func expectError(_ node: Node, types: [String: TensorType], naming value: String) {
        do {
            let kernels = try Lowering.lower(node, types: types, name: "k0")
            Issue.record("lowered to \(kernels.count) kernels instead of failing")
        } catch let d as Diagnostic {
            #expect(d.message.hasPrefix("internal: lowering '\(node.name)'"), "\(d.message)")
            #expect(d.message.contains("'\(value)'"), "\(d.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("an elementwise body reading a value nobody defines names it")
    func undefinedOperand() throws {
        let body = [Node(name: "t", op: .exp, operands: ["a"], type: Self.vector),
                    Node(name: "y", op: .add, operands: ["t", "ghost"], type: Self.vector)]
        Self.expectError(Self.fused("y", operands: ["a"], type: Self.vector, body), types: ["a": Self.vector, "t": Self.vector, "y": Self.vector],
                         naming: "ghost")
    }

    @Test("an elementwise body node without a type names itself")
    func untypedBodyNode() throws {
        let body = [Node(name: "t", op: .exp, operands: ["a"]),
                    Node(name: "y", op: .add, operands: ["t", "a"], type: Self.vector)]
        Self.expectError(Self.fused("y", operands: ["a"], type: Self.vector, body), types: ["a": Self.vector, "y": Self.vector], naming: "t")
    }

    @Test("an index-mapped body (transpose then add) with an untyped node names it")
    func untypedIndexedNode() throws {
        let square = TensorType(.f32, [2, 2])
        let body = [Node(name: "t", op: .transpose, operands: ["a"], attributes: try Self.attributes(.transpose, [("perm", .ints([1, 0]))]),
                         type: square),
                    Node(name: "u", op: .exp, operands: ["t"]),
                    Node(name: "y", op: .add, operands: ["u", "a"], type: square)]
        Self.expectError(Self.fused("y", operands: ["a"], type: square, body), types: ["a": square, "t": square, "y": square], naming: "u")
    }

    @Test("a matmul's tile epilogue with an untyped node names it")
    func untypedEpilogueNode() throws {
        let matrix = TensorType(.f32, [8, 8])
        let body = [Node(name: "p", op: .matmul, operands: ["a", "b"], attributes: try Self.attributes(.matmul, []), type: matrix),
                    Node(name: "q", op: .tanh, operands: ["p"]),
                    Node(name: "y", op: .add, operands: ["q", "c"], type: matrix)]
        Self.expectError(Self.fused("y", operands: ["a", "b", "c"], type: matrix, body),
                         types: ["a": matrix, "b": matrix, "c": matrix, "p": matrix, "y": matrix], naming: "q")
    }

    @Test("a fused reduction whose producer has no type names it")
    func untypedReductionProducer() throws {
        let body = [Node(name: "t", op: .exp, operands: ["a"]),
                    Node(name: "y", op: .reduce_sum, operands: ["t"], attributes: try Self.attributes(.reduce_sum, [("axes", .ints([0]))]),
                         type: TensorType(.f32, []))]
        Self.expectError(Self.fused("y", operands: ["a"], type: TensorType(.f32, []), body),
                         types: ["a": Self.vector, "t": Self.vector, "y": TensorType(.f32, [])], naming: "t")
    }

    @Test("the same kernels, well formed, lower")
    func wellFormed() throws {
        let body = [Node(name: "t", op: .exp, operands: ["a"], type: Self.vector),
                    Node(name: "y", op: .add, operands: ["t", "a"], type: Self.vector)]
        let kernels = try Lowering.lower(Self.fused("y", operands: ["a"], type: Self.vector, body), types: ["a": Self.vector, "t": Self.vector, "y": Self.vector], name: "k0")
        #expect(kernels.count == 1)
    }
}
