import Foundation
import KilnIR

/// Graphviz DOT for a graph: one box per value, labelled with its op and type.
public struct DotExport {
    public init() {}

    public func dot(_ graph: Graph) -> String {
        var out = "digraph \"\(escape(graph.name))\" {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
        func id(_ name: String) -> String { "\"\(escape(name))\"" }
        for input in graph.inputs {
            out += "  \(id(input.name)) [shape=ellipse, style=filled, fillcolor=\"#dbeafe\", label=\"input \(escape(input.name))\\n\(input.type)\"];\n"
        }
        for param in graph.params {
            let colour = param.role == .param ? "#fef3c7" : "#e5e7eb"
            out += "  \(id(param.name)) [shape=ellipse, style=filled, fillcolor=\"\(colour)\", label=\"\(param.role.rawValue) \(escape(param.name))\\n\(param.type)\"];\n"
        }
        let outputs = Set(graph.outputs)
        for node in graph.nodes {
            let type = node.type.map { "\\n\($0)" } ?? ""
            let style = outputs.contains(node.name) ? ", style=\"filled,bold\", fillcolor=\"#dcfce7\"" : ""
            out += "  \(id(node.name)) [shape=box\(style), label=\"\(escape(node.name)) = \(node.op.name)\(type)\"];\n"
            for operand in node.operands { out += "  \(id(operand)) -> \(id(node.name));\n" }
        }
        for update in graph.updates {
            out += "  \(id(update.value)) -> \(id(update.target)) [style=dashed, label=\"update\"];\n"
        }
        out += "}\n"
        return out
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
