import KilnIR

/// Turns a training-time forward graph into its evaluation twin: every `dropout` becomes the
/// identity (inverted dropout already scales kept activations at training time), so
/// predictions are deterministic. Runs `Simplify` afterwards to drop the identities.
public struct EvaluationMode: Pass {
    public let name = "eval-mode"
    public init() {}

    public func run(_ graph: Graph) throws -> Graph {
        var result = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        for i in result.nodes.indices where result.nodes[i].op == .dropout {
            let shape = result.nodes[i].type?.shape.dims ?? []
            result.nodes[i].op = .reshape
            result.nodes[i].attributes = Attributes(["shape": .ints(shape)])
        }
        return try Simplify().run(result)
    }
}
