import KilnIR

extension Fusion {
    /// Replaces each group of node indices by one `fused` node and re-orders the graph so every
    /// kernel follows its operands (a kernel may need values defined between its members).
    func assemble(_ graph: Graph, groups: [[Int]], producer: [String: Int]) throws -> Graph {
        let nodes = graph.nodes
        var groupOf = [Int?](repeating: nil, count: nodes.count)
        for (g, members) in groups.enumerated() { for m in members { groupOf[m] = g } }

        var consumersOutside: Set<String> = Set(graph.outputs).union(graph.updates.map(\.value))
        for (i, node) in nodes.enumerated() {
            for operand in node.operands {
                guard let p = producer[operand] else { continue }
                if groupOf[p] == nil || groupOf[p] != groupOf[i] { consumersOutside.insert(operand) }
            }
        }

        // Items to schedule: kernels and untouched nodes, keyed by their first original index.
        struct Item { var node: Node; var key: Int; var needs: Set<String> }
        var items: [Item] = []
        for (g, members) in groups.enumerated() {
            let body = members.map { nodes[$0] }
            let defined = Set(body.map(\.name))
            var operands: [String] = []
            for node in body {
                for operand in node.operands where !defined.contains(operand) && !operands.contains(operand) {
                    operands.append(operand)
                }
            }
            let results = body.map(\.name).filter { consumersOutside.contains($0) }
            guard let primary = results.last else { continue }
            let kernel = Node(name: primary, op: .fused, operands: operands,
                              type: body.first { $0.name == primary }?.type, location: body.last?.location,
                              region: body, extraResults: results.filter { $0 != primary })
            items.append(Item(node: kernel, key: members[0] * 2 + 1, needs: Set(operands)))
            _ = g
        }
        for (i, node) in nodes.enumerated() where groupOf[i] == nil {
            items.append(Item(node: node, key: i * 2, needs: Set(node.operands)))
        }
        items.sort { $0.key < $1.key }

        var available = Set(graph.inputs.map(\.name) + graph.params.map(\.name))
        var scheduled: [Node] = []
        var pending = items
        while !pending.isEmpty {
            guard let next = pending.firstIndex(where: { $0.needs.isSubset(of: available) }) else {
                throw Diagnostic("fusion produced a cyclic schedule (internal error): \(pending.count) nodes unplaced")
            }
            let item = pending.remove(at: next)
            scheduled.append(item.node)
            available.formUnion(item.node.resultNames)
        }
        var result = graph
        result.nodes = scheduled
        return result
    }
}
