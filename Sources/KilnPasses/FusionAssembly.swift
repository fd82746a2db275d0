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
        var items: [ScheduleItem] = []
        for members in groups {
            let body = members.map { nodes[$0] }
            let defined = Set(body.map(\.name))
            var operands: [String] = []
            var listed = Set<String>()
            for node in body {
                for operand in node.operands where !defined.contains(operand) && listed.insert(operand).inserted {
                    operands.append(operand)
                }
            }
            let results = body.map(\.name).filter { consumersOutside.contains($0) }
            guard let primary = results.last else { continue }
            let kernel = Node(name: primary, op: .fused, operands: operands,
                              type: body.last { $0.name == primary }?.type, location: body.last?.location,
                              region: body, extraResults: results.filter { $0 != primary })
            items.append(ScheduleItem(node: kernel, key: members[0] * 2 + 1, needs: operands))
        }
        for (i, node) in nodes.enumerated() where groupOf[i] == nil {
            items.append(ScheduleItem(node: node, key: i * 2, needs: node.operands))
        }
        items.sort { $0.key < $1.key }
        var result = graph
        result.nodes = try schedule(items, available: Set(graph.inputs.map(\.name) + graph.params.map(\.name)))
        return result
    }

    struct ScheduleItem {
        var node: Node
        var key: Int
        var needs: [String]
    }

    /// List scheduling: repeatedly places the earliest item (in `items` order) whose operands
    /// are all available. A ready queue keyed by position gives the same order as rescanning
    /// the pending list each time, in O(n log n) instead of O(n²).
    private func schedule(_ items: [ScheduleItem], available initial: Set<String>) throws -> [Node] {
        var available = initial
        var missing = [Int](repeating: 0, count: items.count)
        var waiting: [String: [Int]] = [:]
        var ready = MinHeap()
        for (position, item) in items.enumerated() {
            for need in Set(item.needs) where !available.contains(need) {
                missing[position] += 1
                waiting[need, default: []].append(position)
            }
            if missing[position] == 0 { ready.push(position) }
        }
        var scheduled: [Node] = []
        scheduled.reserveCapacity(items.count)
        while let position = ready.pop() {
            let node = items[position].node
            scheduled.append(node)
            for name in node.resultNames where available.insert(name).inserted {
                for waiter in waiting.removeValue(forKey: name) ?? [] {
                    missing[waiter] -= 1
                    if missing[waiter] == 0 { ready.push(waiter) }
                }
            }
        }
        guard scheduled.count == items.count else {
            throw Diagnostic("fusion produced a cyclic schedule (internal error): \(items.count - scheduled.count) nodes unplaced")
        }
        return scheduled
    }
}
