import KilnIR
import KilnPasses
import KilnRuntime

/// Seeded inputs that look like real data, so a comparison exercises the same code paths a
/// training run does: floats uniform in [0, 1) (pixel-like), fresh per step, and integer
/// inputs spread over the whole class range the graph implies — not just 0 and 1, which would
/// leave most of a softmax's gradient rows or a gather's table rows untested.
public enum ComparisonInputs {
    /// Feeds for step `step` of `graph`: `learningRate` for the training step's `lr` input,
    /// random values for the others.
    public static func random(for graph: Graph, step: Int, seed: UInt64 = 0, learningRate: Float = 0.01) -> [String: Tensor] {
        let ranges = classRanges(graph)
        var feeds: [String: Tensor] = [:]
        for input in graph.inputs {
            let key = KilnRandom.key(seed: seed ^ KilnRandom.hash(input.name), step: UInt64(truncatingIfNeeded: step))
            let n = input.type.elementCount
            if input.name == TrainingStep.learningRateInput && input.type.elementCount == 1 && input.type.dtype == .f32 {
                feeds[input.name] = Tensor(type: input.type, storage: Tensor.scalar(learningRate).storage)
            } else if input.type.dtype == .i32 {
                let classes = ranges[input.name] ?? 2
                feeds[input.name] = Tensor(input.type.shape, ints: (0..<n).map {
                    Int32(clamping: Swift.min(classes - 1, Int(KilnRandom.uniform(key: key, index: UInt64($0)) * Float(classes))))
                })
            } else {
                feeds[input.name] = Tensor(input.type.shape, floats: (0..<n).map { KilnRandom.uniform(key: key, index: UInt64($0)) })
            }
        }
        return feeds
    }

    /// For each integer input, the number of classes its uses imply: the width of the logits of
    /// a softmax cross-entropy, a one_hot's depth, a gather table's rows. Inputs with no such
    /// use are absent (the caller falls back to two classes).
    public static func classRanges(_ graph: Graph) -> [String: Int] {
        let types = graph.valueTypes
        var ranges: [String: Int] = [:]
        func visit(_ nodes: [Node]) {
            for node in nodes {
                if let body = node.region { visit(body) }
                guard let use = node.op.classIndexUse, use.indices < node.operands.count else { continue }
                func operandType(_ k: Int) -> TensorType? {
                    k < node.operands.count ? types[node.operands[k]] ?? typeInBody(node.operands[k], nodes) : nil
                }
                let classes: Int?
                switch use.bound {
                case .lastDimension(let k): classes = operandType(k)?.shape.dims.last
                case .firstDimension(let k): classes = operandType(k)?.shape.dims.first
                case .attribute(let name): classes = node.attributes.int(name)
                }
                guard let classes, classes > 0 else { continue }
                let name = node.operands[use.indices]
                guard graph.input(named: name)?.type.dtype == .i32 else { continue }
                ranges[name] = Swift.min(ranges[name] ?? Int.max, classes)
            }
        }
        visit(graph.nodes)
        return ranges
    }

    private static func typeInBody(_ name: String, _ nodes: [Node]) -> TensorType? {
        nodes.first { $0.name == name }?.type
    }
}
