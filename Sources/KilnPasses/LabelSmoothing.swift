import KilnIR

/// Label smoothing (`kiln train --label-smoothing F`): the classifier's loss
/// `softmax_cross_entropy(logits, labels)` is replaced by the cross-entropy against the
/// smoothed targets `(1 − ε)·onehot(labels) + ε / K` over K classes, written with ops the
/// graph already has:
///
///     loss = (1 − ε) · softmax_cross_entropy(logits, labels) + ε · (−mean(log_softmax(logits)))
///
/// since −Σ_c q_c log p_c = (1 − ε)·(−log p_label) + ε·(1/K)·Σ_c (−log p_c), averaged over the
/// batch as softmax_cross_entropy is. The rewrite is ordinary IR, so both backends and the
/// symbolic gradient see it; the loss keeps its name, outputs and role. Validation losses of a
/// graph trained this way are the smoothed loss too; accuracy is unaffected by the rewrite.
public struct LabelSmoothing: Pass {
    public let name = "label-smoothing"
    /// ε, in [0, 1): 0 leaves the graph as it is.
    public let epsilon: Double
    /// The loss value to rewrite; it must be a `softmax_cross_entropy` node.
    public let loss: String

    /// The accepted range of ε.
    public static let range = 0.0..<1.0

    public init(epsilon: Double, loss: String) {
        self.epsilon = epsilon
        self.loss = loss
    }

    public func run(_ graph: Graph) throws -> Graph {
        guard epsilon.isFinite, Self.range.contains(epsilon) else {
            throw Diagnostic("label smoothing must be in [0, 1), got \(epsilon)")
        }
        guard let index = graph.nodes.firstIndex(where: { $0.name == loss }) else {
            throw Diagnostic("label smoothing: the loss '\(loss)' is not computed by a node of graph '\(graph.name)'")
        }
        let node = graph.nodes[index]
        guard node.op == .softmax_cross_entropy else {
            throw Diagnostic("label smoothing needs a classifier: the loss '\(loss)' is \(node.op.name), not softmax_cross_entropy(logits, labels)",
                             at: node.location)
        }
        if epsilon == 0 { return graph }
        let typed = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        let logits = node.operands[0]
        guard let rank = typed.valueTypes[logits]?.shape.dims.count, rank == 2 else {
            throw Diagnostic("label smoothing: logits '\(logits)' must be [batch, classes]", at: node.location)
        }
        let names = GraphBuilder(typed)
        func fresh(_ base: String) -> String { names.freeName("\(loss)_\(base)") }
        let hard = fresh("hard"), logProbabilities = fresh("log_probs"), meanLog = fresh("mean_log_prob")
        let keep = fresh("keep"), spread = fresh("spread"), hardPart = fresh("hard_part"), uniformPart = fresh("uniform_part")
        let at = node.location
        func emit(_ name: String, _ op: OpKind, _ operands: [String], _ attributes: [(String, AttrValue)] = []) throws -> Node {
            Node(name: name, op: op, operands: operands, attributes: try op.normalize(attributes, at: at), location: at)
        }
        let rewritten: [Node] = [
            try emit(hard, .softmax_cross_entropy, node.operands),
            try emit(logProbabilities, .log_softmax, [logits], [("axis", .int(-1))]),
            try emit(meanLog, .reduce_mean, [logProbabilities], [("axes", .ints([0, 1]))]),
            try emit(keep, .constant, [], [("value", .float(1 - epsilon))]),
            // −ε: the mean of log-probabilities is negative, its cross-entropy term positive.
            try emit(spread, .constant, [], [("value", .float(-epsilon))]),
            try emit(hardPart, .mul, [hard, keep]),
            try emit(uniformPart, .mul, [meanLog, spread]),
            try emit(loss, .add, [hardPart, uniformPart]),
        ]
        var result = typed
        result.nodes.replaceSubrange(index...index, with: rewritten)
        for i in result.nodes.indices { result.nodes[i].type = nil }
        return try inferTypes(result)
    }
}
