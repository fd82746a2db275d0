import KilnIR

/// Writes a graph the way a person would: every `%N` temporary used once, by the statement
/// that follows its evaluation, is folded into that statement as a nested call (or, for a
/// plain scalar constant, a numeric literal); some type annotations are left out. Parsing
/// the result must give back the same graph, because the parser numbers the temporaries it
/// creates for nested calls and literals in evaluation order, exactly as `GraphBuilder` did.
struct NestedText {
    let graph: Graph
    private var inlined = Set<String>()
    private var index: [String: Int] = [:]

    init(_ graph: Graph) {
        self.graph = graph
        for (i, node) in graph.nodes.enumerated() { index[node.name] = i }
        var uses: [String: Int] = [:]
        for node in graph.nodes { for operand in node.operands { uses[operand, default: 0] += 1 } }
        for output in graph.outputs { uses[output, default: 0] += 2 }
        for update in graph.updates { uses[update.value, default: 0] += 2 }
        for j in graph.nodes.indices.reversed() where !inlined.contains(graph.nodes[j].name) && graph.nodes[j].op != .fused {
            _ = absorb(j, uses: uses)
        }
    }

    /// Folds the operands of node `j` that were evaluated right before it (right to left, as
    /// post-order requires) and returns the index where the folded expression starts.
    private mutating func absorb(_ j: Int, uses: [String: Int]) -> Int {
        var p = j - 1
        for operand in graph.nodes[j].operands.reversed() {
            guard p >= 0, graph.nodes[p].name == operand, operand.hasPrefix("%"), uses[operand] == 1,
                  graph.nodes[p].op != .fused else { continue }
            inlined.insert(operand)
            p = absorb(p, uses: uses) - 1
        }
        return p + 1
    }

    /// How many temporaries were folded (a test can check the renderer did something).
    var foldedCount: Int { inlined.count }

    private func expression(_ node: Node) -> String {
        if node.op == .constant, case .float(let v)? = node.attributes["value"], v.isFinite, v != 0 || v.sign == .plus,
           (try? OpKind.constant.normalize([("value", .float(v))])) == node.attributes {
            return formatFloat(v)
        }
        var call = node
        call.operands = node.operands.map { inlined.contains($0) ? expression(graph.nodes[index[$0] ?? 0]) : $0 }
        return Printer().call(for: call)
    }

    /// The nested text; `keepAnnotation(i)` decides whether statement i keeps its type.
    func text(keepAnnotation: (Int) -> Bool) -> String {
        var out = "graph \(graph.name) {\n"
        for input in graph.inputs { out += "  input \(input.name): \(input.type)\n" }
        for param in graph.params { out += "  \(param.role.rawValue) \(param.name): \(param.type) = \(param.initializer)\n" }
        for (i, node) in graph.nodes.enumerated() where !inlined.contains(node.name) {
            if node.op == .fused {
                out += Printer().lines(for: node, indent: "  ")
                continue
            }
            let head = keepAnnotation(i) ? node.type.map { "\(node.name): \($0)" } ?? node.name : node.name
            out += "  \(head) = \(expression(node))\n"
        }
        for output in graph.outputs { out += "  output \(output)\n" }
        for update in graph.updates { out += "  update \(update.target) = \(update.value)\n" }
        return out + "}\n"
    }
}
