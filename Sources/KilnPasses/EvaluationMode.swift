import KilnIR

/// Turns a training-time forward graph into its evaluation twin, so predictions are
/// deterministic and evaluation never changes the model:
///
/// - every `dropout` becomes the identity (inverted dropout already scales kept activations at
///   training time);
/// - every `if_training(a, b)` becomes `b` (broadcast to a's shape): batch norm's running
///   statistics instead of the batch's, the clean input instead of a noisy one;
/// - the graph's own `update` statements are removed: running statistics and persistent
///   chains advance only while training.
///
/// Other random ops stay. Whether noise is regularisation (to remove) or the model itself (an
/// RBM's Gibbs sampling, a VAE's reparameterised sample) is not visible in the graph, so the
/// graph says it: noise that is training-only is written `if_training(noisy, clean)`.
/// Runs `Simplify` afterwards to drop the identities and whatever only the training side read.
public struct EvaluationMode: Pass {
    public let name = "eval-mode"
    public init() {}

    public func run(_ graph: Graph) throws -> Graph {
        var result = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        for i in result.nodes.indices {
            let shape = result.nodes[i].type?.shape.dims ?? []
            if result.nodes[i].op == .dropout {
                result.nodes[i].op = .reshape
                result.nodes[i].attributes = Attributes(["shape": .ints(shape)])
            } else if result.nodes[i].op == .if_training {
                result.nodes[i].operands = [result.nodes[i].operands[1]]
                result.nodes[i].op = .broadcast_to
                result.nodes[i].attributes = Attributes(["shape": .ints(shape)])
            }
        }
        result.updates = []
        return try Simplify().run(result)
    }
}
