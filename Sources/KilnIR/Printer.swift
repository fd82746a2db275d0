/// Prints a graph as `.kiln` text: one statement per line, every node with its type when
/// known, attributes that differ from their defaults. Deterministic, and `Parser.parse`
/// reads it back to an equal graph.
public struct Printer {
    public init() {}

    public func print(_ graph: Graph) -> String {
        var out = "graph \(graph.name) {\n"
        for input in graph.inputs { out += "  input \(input.name): \(input.type)\n" }
        for param in graph.params {
            out += "  \(param.role.rawValue) \(param.name): \(param.type) = \(param.initializer)\n"
        }
        for node in graph.nodes { out += "  " + line(for: node) + "\n" }
        for output in graph.outputs { out += "  output \(output)\n" }
        for update in graph.updates { out += "  update \(update.target) = \(update.value)\n" }
        out += "}\n"
        return out
    }

    /// `name: type = op(operands, attr=value)`.
    public func line(for node: Node) -> String {
        let head = node.type.map { "\(node.name): \($0)" } ?? node.name
        return "\(head) = \(call(for: node))"
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
