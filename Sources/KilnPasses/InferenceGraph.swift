import KilnIR

/// Derives the graph a trained model predicts with from its training-time forward graph:
///
/// 1. `EvaluationMode`: dropout off, `if_training` takes its evaluation side (batch norm reads
///    its running statistics), no state updates;
/// 2. the loss outputs are dropped (declared `as loss`, or named `loss` when no output has a
///    role), and so is every other output computed from a label input;
/// 3. a classifier (one rank-2 output declared `as logits`) gains an output `probabilities`
///    (declared `as probabilities`): the softmax of its logits over the classes;
/// 4. dead code is removed, then every input nothing reads (the labels) is dropped.
///
/// Label inputs are those the graph's loss ops take as targets (the last operand of
/// `softmax_cross_entropy`, `mse`, `binary_cross_entropy`, `sigmoid_cross_entropy`) and that no
/// kept output reads; `labelInputs` lists them for a caller that must not feed them.
public struct InferenceGraph: Pass {
    public let name = "inference"
    /// The name of the probabilities output added to a classifier.
    public static let probabilitiesOutput = "probabilities"
    public init() {}

    public func run(_ graph: Graph) throws -> Graph {
        let typed = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        var result = try EvaluationMode().run(typed)
        let losses = Set(Self.lossOutputs(of: typed))
        let targets = Self.targetInputs(of: typed)
        let readers = Self.dependencies(of: result)
        result.outputs = result.outputs.filter { output in
            !losses.contains(output) && readers[output, default: []].isDisjoint(with: targets)
        }
        guard !result.outputs.isEmpty else {
            throw Diagnostic("graph '\(graph.name)' has no output left to predict with once the loss and label-reading outputs are dropped (outputs: \(typed.outputs.joined(separator: ", ")))")
        }
        if let logits = result.output(withRole: .logits), let type = result.valueTypes[logits], type.rank == 2 {
            var name = Self.probabilitiesOutput
            let taken = Set(result.nodes.flatMap(\.definedNames) + result.inputs.map(\.name) + result.params.map(\.name))
            var suffix = 1
            while taken.contains(name) { suffix += 1; name = "\(Self.probabilitiesOutput)_\(suffix)" }
            result.nodes.append(Node(name: name, op: .softmax, operands: [logits], attributes: Attributes(["axis": .int(-1)]), type: type))
            result.outputs.append(name)
            result.outputRoles[name] = .probabilities
        }
        result = try DeadCodeElimination().run(result)
        let read = Set(result.nodes.flatMap(\.operands) + result.outputs)
        result.inputs = result.inputs.filter { read.contains($0.name) }
        return try inferTypes(result)
    }

    /// The outputs a training step would minimise: declared `as loss`, else the one named `loss`.
    public static func lossOutputs(of graph: Graph) -> [String] {
        let declared = graph.outputs(withRole: .loss)
        if !declared.isEmpty { return declared }
        return graph.outputRoles.values.contains(.loss) || !graph.outputs.contains("loss") ? [] : ["loss"]
    }

    /// The inputs a loss op takes as its target (the labels of a classifier, a regression's targets).
    public static func targetInputs(of graph: Graph) -> Set<String> {
        let inputs = Set(graph.inputs.map(\.name))
        var targets = Set<String>()
        for node in graph.nodes {
            switch node.op.category {
            case .loss:
                if let last = node.operands.last, inputs.contains(last) { targets.insert(last) }
            case .source, .elementwise, .contraction, .layout, .reduction, .gradientHelper, .kernel:
                continue
            }
        }
        return targets
    }

    /// The inputs each value depends on, by value name.
    static func dependencies(of graph: Graph) -> [String: Set<String>] {
        var depends: [String: Set<String>] = [:]
        for input in graph.inputs { depends[input.name] = [input.name] }
        for node in graph.nodes {
            let reads = node.operands.reduce(into: Set<String>()) { $0.formUnion(depends[$1] ?? []) }
            for result in node.resultNames { depends[result] = reads }
        }
        return depends
    }
}
