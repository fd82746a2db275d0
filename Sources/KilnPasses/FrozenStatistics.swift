import KilnIR

/// Freezes running statistics (batch norm's mean and variance) in a training graph: every
/// `if_training(batch, S)` whose second operand is one of `states` takes `S` while training
/// too, and the `update` of each such state is removed. A frozen batch-norm layer then
/// normalises with the statistics it was trained with, and fine-tuning never moves them
/// (Keras's behaviour for a layer with `trainable = False`).
public struct FrozenStatistics: Pass {
    public let name = "freeze-statistics"
    public let states: Set<String>

    public init(states: Set<String>) { self.states = states }

    public func run(_ graph: Graph) throws -> Graph {
        guard !states.isEmpty else { return graph }
        var result = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        for name in states.sorted() where result.param(named: name)?.role != .state {
            throw Diagnostic("cannot freeze statistics '\(name)': not a state tensor of graph '\(graph.name)'")
        }
        for i in result.nodes.indices where result.nodes[i].op == .if_training {
            guard result.nodes[i].operands.count == 2, states.contains(result.nodes[i].operands[1]) else { continue }
            let shape = result.nodes[i].type?.shape.dims ?? []
            result.nodes[i].operands = [result.nodes[i].operands[1]]
            result.nodes[i].op = .broadcast_to
            result.nodes[i].attributes = Attributes(["shape": .ints(shape)])
        }
        result.updates = result.updates.filter { !states.contains($0.target) }
        return try DeadCodeElimination().run(result)
    }

    /// The running statistics of each layer, by state name: the trainable params that the
    /// normalisation reading the state goes on to apply (batch norm's scale and shift), found
    /// by following elementwise ops forward from every `if_training(_, state)`, together with
    /// the params sharing the state's layer prefix (`bn1.running_mean` → `bn1.*`). States that
    /// no `if_training` reads are not statistics and are absent.
    public static func layerParams(in graph: Graph) -> [String: Set<String>] {
        let trainable = Set(graph.trainableParams.map(\.name))
        var readers: [String: [Node]] = [:]
        for node in graph.nodes { for operand in Set(node.operands) { readers[operand, default: []].append(node) } }
        var owners: [String: Set<String>] = [:]
        for node in graph.nodes where node.op == .if_training && node.operands.count == 2 {
            let state = node.operands[1]
            guard graph.param(named: state)?.role == .state else { continue }
            var found = Set<String>(), seen: Set<String> = [node.name], frontier = [node.name]
            while let value = frontier.popLast() {
                for reader in readers[value] ?? [] where reader.op.category == .elementwise && !seen.contains(reader.name) {
                    seen.insert(reader.name)
                    frontier.append(reader.name)
                    found.formUnion(reader.operands.filter(trainable.contains))
                }
            }
            if let dot = state.lastIndex(of: ".") {
                let prefix = state[...dot]
                found.formUnion(trainable.filter { $0.hasPrefix(prefix) })
            }
            owners[state, default: []].formUnion(found)
        }
        return owners
    }

    /// The statistics whose layer is wholly frozen: states with at least one layer param, all in `frozen`.
    public static func frozenStates(in graph: Graph, frozen: Set<String>) -> Set<String> {
        Set(layerParams(in: graph).filter { !$0.value.isEmpty && $0.value.isSubset(of: frozen) }.keys)
    }
}
