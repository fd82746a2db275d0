import KilnIR

/// Products that read one matrix transposed at many places — `matmul(dh, U, transpose_b=true)`
/// at every step of an unrolled RNN's backward pass — read it through one explicit transpose
/// instead: U is transposed once per step, and each product takes the result as it is stored.
/// So a backend reads the right operand's rows in place at every product rather than
/// transposing (packing) the same matrix again for each (the LSTM's 28 products a step).
/// Part of `Simplify`; a matrix read transposed by a single product is left alone.
enum SharedTranspose {
    static func apply(_ graph: Graph) -> Graph {
        let types = graph.valueTypes
        func transposedRight(_ node: Node) -> String? {
            guard node.op == .matmul, node.attributes.bool("transpose_b"), node.operands.count == 2,
                  let type = types[node.operands[1]], type.shape.rank == 2 else { return nil }
            return node.operands[1]
        }
        var uses: [String: Int] = [:]
        for node in graph.nodes { if let matrix = transposedRight(node) { uses[matrix, default: 0] += 1 } }
        let shared = Set(uses.filter { $0.value >= 2 }.keys)
        guard !shared.isEmpty else { return graph }
        var names = FreshNames(graph)
        var result = graph
        result.nodes = []
        var transposed: [String: String] = [:]
        for original in graph.nodes {
            var node = original
            if let matrix = transposedRight(node), shared.contains(matrix), let type = types[matrix] {
                let name: String
                if let existing = transposed[matrix] {
                    name = existing
                } else {
                    name = names.make()
                    transposed[matrix] = name
                    result.nodes.append(Node(name: name, op: .transpose, operands: [matrix], attributes: Attributes(["perm": .ints([1, 0])]),
                                             type: TensorType(type.dtype, Shape([type.shape[1], type.shape[0]])), location: node.location))
                }
                node.operands[1] = name
                node.attributes["transpose_b"] = .bool(false)
            }
            result.nodes.append(node)
        }
        return result
    }
}
