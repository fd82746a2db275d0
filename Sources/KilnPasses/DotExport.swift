import Foundation
import KilnIR

/// Graphviz DOT for a graph: one box per value, labelled with its op and type.
public struct DotExport {
    public init() {}

    public func dot(_ graph: Graph) -> String {
        var out = "digraph \"\(escape(graph.name))\" {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
        for input in graph.inputs {
            out += "  \(id(input.name)) [shape=ellipse, style=filled, fillcolor=\"#dbeafe\", label=\"input \(escape(input.name))\\n\(input.type)\"];\n"
        }
        for param in graph.params {
            let colour = param.role == .param ? "#fef3c7" : "#e5e7eb"
            out += "  \(id(param.name)) [shape=ellipse, style=filled, fillcolor=\"\(colour)\", label=\"\(param.role.rawValue) \(escape(param.name))\\n\(param.type)\"];\n"
        }
        let outputs = Set(graph.outputs)
        var cluster = 0
        for node in graph.nodes {
            guard let body = node.region else {
                out += box(node, outputs: outputs, indent: "  ")
                continue
            }
            // A fused kernel is a cluster of its body's nodes; edges from outside enter its members.
            out += "  subgraph cluster_\(cluster) {\n    label=\"\(Printer.kernelName(body))\"; style=\"rounded,filled\"; fillcolor=\"#f3f4f6\";\n"
            cluster += 1
            for inner in body { out += box(inner, outputs: outputs, indent: "    ") }
            out += "  }\n"
        }
        // Edges last: an edge inside a cluster would pull its outside endpoint into the cluster.
        for node in graph.nodes.flatMap({ $0.region ?? [$0] }) {
            for operand in node.operands { out += "  \(id(operand)) -> \(id(node.name));\n" }
        }
        for update in graph.updates {
            out += "  \(id(update.value)) -> \(id(update.target)) [style=dashed, label=\"update\"];\n"
        }
        out += "}\n"
        return out
    }

    private func box(_ node: Node, outputs: Set<String>, indent: String) -> String {
        let type = node.type.map { "\\n\($0)" } ?? ""
        let style = outputs.contains(node.name) ? ", style=\"filled,bold\", fillcolor=\"#dcfce7\"" : ""
        return "\(indent)\(id(node.name)) [shape=box\(style), label=\"\(escape(node.name)) = \(node.op.name)\(type)\"];\n"
    }

    private func id(_ name: String) -> String { "\"\(escape(name))\"" }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
