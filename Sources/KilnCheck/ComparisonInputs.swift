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
                let count: (operand: Int, classes: Int?)?
                switch node.op {
                case .softmax_cross_entropy, .softmax_cross_entropy_grad:
                    count = (1, node.operands.first.flatMap { types[$0] ?? typeInBody($0, nodes) }?.shape.dims.last)
                case .one_hot:
                    count = (0, Optional(node.attributes.int("depth")))
                case .gather:
                    count = (1, node.operands.first.flatMap { types[$0] ?? typeInBody($0, nodes) }?.shape.dims.first)
                case .gather_grad:
                    count = (1, Optional(node.attributes.int("rows")))
                case .constant, .random_normal, .random_uniform, .iota, .softplus, .stop_gradient, .bernoulli, .if_training,
                     .add, .sub, .mul, .div, .max, .min, .pow, .equal, .not_equal, .less,
                     .less_equal, .greater, .greater_equal, .select, .neg, .exp, .log, .sqrt, .rsqrt, .square, .abs,
                     .sign, .tanh, .sigmoid, .relu, .leaky_relu, .elu, .cast, .dropout, .matmul, .conv2d,
                     .conv2d_grad_input, .conv2d_grad_filter, .max_pool2d, .avg_pool2d, .max_pool2d_grad,
                     .avg_pool2d_grad, .transpose, .reshape, .broadcast_to, .concat, .slice, .pad, .argmax,
                     .reduce_sum, .reduce_mean, .reduce_max, .softmax, .log_softmax, .mse, .binary_cross_entropy,
                     .sigmoid_cross_entropy, .fused:
                    count = nil
                }
                guard let count, count.operand < node.operands.count, let classes = count.classes, classes > 0 else { continue }
                let name = node.operands[count.operand]
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
