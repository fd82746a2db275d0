import KilnIR

/// `%N` names no node, input or param of a graph uses, one after another: for passes that add
/// several nodes in one sweep (`PadSums`, `SharedTranspose`).
struct FreshNames {
    private var taken: Set<String>
    private var next = 0

    init(_ graph: Graph) {
        taken = Set(graph.nodes.flatMap(\.definedNames) + graph.inputs.map(\.name) + graph.params.map(\.name))
    }

    mutating func make() -> String {
        while taken.contains("%\(next)") { next += 1 }
        taken.insert("%\(next)")
        return "%\(next)"
    }
}
