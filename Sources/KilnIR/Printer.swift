/// Prints a graph as `.kiln` text: one statement per line, every node with its type when
/// known, attributes that differ from their defaults. Deterministic, and `Parser.parse`
/// reads it back to an equal graph.
public struct Printer {
    public init() {}

    public func print(_ graph: Graph) -> String {
        var out = ""
        if let plan = graph.memoryPlan { out += "# \(plan.summary)\n" }
        out += "graph \(graph.name) {\n"
        for input in graph.inputs { out += "  input \(input.name): \(input.type)\n" }
        for param in graph.params {
            out += "  \(param.role.rawValue) \(param.name): \(param.type) = \(param.initializer)\n"
        }
        let annotation: (String) -> String = { name in
            guard let a = graph.memoryPlan?.allocations[name] else { return "" }
            return " @arena+\(a.offset)"
        }
        for node in graph.nodes { out += lines(for: node, indent: "  ", annotation: annotation) }
        for output in graph.outputs { out += "  output \(output)\(graph.outputRoles[output].map { " as \($0.rawValue)" } ?? "")\n" }
        for update in graph.updates { out += "  update \(update.target) = \(update.value)\n" }
        out += "}\n"
        return out
    }

    /// The node's statement, with a fused kernel's body indented below it.
    public func lines(for node: Node, indent: String, annotation: (String) -> String = { _ in "" }) -> String {
        let head = node.resultTypes.map { name, type in
            (type.map { "\(name): \($0)" } ?? name) + annotation(name)
        }.joined(separator: ", ")
        guard let body = node.region else { return "\(indent)\(head) = \(call(for: node))\n" }
        var out = "\(indent)\(head) = \(Self.kernelName(body))(\(node.operands.joined(separator: ", "))) {\n"
        for inner in body { out += lines(for: inner, indent: indent + "  ") }
        return out + "\(indent)}\n"
    }

    /// `name: type = op(operands, attr=value)` for a single-result node.
    public func line(for node: Node) -> String {
        lines(for: node, indent: "").trimmingTrailingNewline()
    }

    /// A fused kernel's name spells the ops it contains, in order: `fused_matmul_add_relu`.
    public static func kernelName(_ body: [Node]) -> String {
        var ops: [String] = []
        for node in body where !ops.contains(node.op.name) { ops.append(node.op.name) }
        return "fused_" + ops.joined(separator: "_")
    }

    /// `op(operands, attr=value)`, attributes in signature order, defaults left out.
    public func call(for node: Node) -> String {
        var args = node.operands
        for spec in node.op.attributes {
            guard let value = node.attributes[spec.name] else { continue }
            switch spec.defaultValue {
            case .value(let d) where d == value: continue
            case .sameAs(let other) where node.attributes[other] == value: continue
            default: args.append("\(spec.name)=\(value)")
            }
        }
        return "\(node.op.name)(\(args.joined(separator: ", ")))"
    }
}

extension Graph {
    /// The graph as `.kiln` text.
    public var text: String { Printer().print(self) }
}

extension String {
    fileprivate func trimmingTrailingNewline() -> String {
        hasSuffix("\n") ? String(dropLast()) : self
    }
}
