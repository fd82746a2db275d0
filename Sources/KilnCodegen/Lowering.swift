import KilnIR

/// Lowers each scheduled node of a typed graph — a plain op or a fused kernel — to loop
/// kernels run in order. Every op in the table has a lowering — an op computed element by element
/// the loops of its definition, every structural op its case of the switch below (exhaustive
/// over `StructuralOp`, no `default:`) — so a compiled step never calls back into the interpreter.
public enum Lowering {
    /// The kernels of a whole typed graph, node by node (kernel names start `k<node index>_<op>`).
    public static func lower(_ graph: Graph, target: CodegenTarget = .avx2) throws -> [LoopKernel] {
        let types = graph.valueTypes, constants = foldableConstants(graph)
        return try graph.nodes.enumerated().flatMap { i, node in
            try lower(node, types: types, name: "k\(i)_\(node.op.name)", constants: constants, target: target)
        }
    }

    /// The value of every `constant` node, as the number kernels use in place of a load.
    public static func foldableConstants(_ graph: Graph) -> [String: Expr] {
        var constants: [String: Expr] = [:]
        for node in graph.nodes where node.op == .constant {
            constants[node.name] = ScalarSemantics.value(of: node, [], types: [], at: .init(flatIndex: .i64(0)))
        }
        return constants
    }

    /// The kernels computing `node`. `types` holds the type of every graph value.
    public static func lower(_ node: Node, types: [String: TensorType], name: String, constants: [String: Expr] = [:],
                             target: CodegenTarget = .avx2) throws -> [LoopKernel] {
        var b = KernelBuilder(name: name, constants: constants, target: target)
        let kernels = try node.region.map { try FusedLowering.lower(&b, node, $0, types: types) }
            ?? lowerPlain(&b, node, types: types, into: node.name)
        // A value the lowering could not resolve is a compiler bug: an error naming it, never
        // a kernel computing with a placeholder.
        if let message = b.loweringError {
            throw Diagnostic("internal: lowering '\(node.name)' (\(node.region.map { _ in "fused kernel" } ?? node.op.name)): \(message)",
                             at: node.location)
        }
        return kernels
    }

    /// One op reading its operands from buffers and writing `target`'s buffer.
    static func lowerPlain(_ b: inout KernelBuilder, _ node: Node, types: [String: TensorType], into target: String) throws -> [LoopKernel] {
        guard let type = node.type else { throw Diagnostic("internal: '\(node.name)' has no type", at: node.location) }
        let operandTypes = try node.operands.map { operand -> TensorType in
            guard let t = types[operand] else { throw Diagnostic("internal: '\(operand)' has no type", at: node.location) }
            return t
        }
        let x = zip(node.operands, operandTypes).map { b.buffer($0.0, $0.1) }
        let out = b.buffer(target, type)
        let attrs = node.attributes
        func one(_ body: [Stmt], work: Int = type.shape.elementCount) -> [LoopKernel] { [b.kernel(body, work: work)] }
        func window(_ input: Shape, _ output: Shape, window: [Int]) -> WindowGeometry {
            WindowGeometry(input: input, window: window, stride: attrs.ints("stride"), padding: attrs.ints("padding"), output: output)
        }

        guard let op = node.op.structural else {
            // Computed element by element: the loop nest of its one definition (`ElementwiseMeaning`).
            var local: [String: TensorType] = [target: type]
            for (operand, t) in zip(node.operands, operandTypes) { local[operand] = t }
            var renamed = node
            renamed.name = target
            return one(ElementwiseLowering.lower(&b, shape: type.shape, body: [renamed], operands: unique(node.operands),
                                                 results: [target], types: local),
                       work: ElementwiseCost.work([node], elements: type.shape.elementCount, types: local))
        }
        switch op {
        case .matmul:
            return MatmulLowering.lower(&b, a: x[0], operandTypes[0], b: x[1], operandTypes[1], transposeA: attrs.bool("transpose_a"),
                                        transposeB: attrs.bool("transpose_b"), out: out, type)
        case .conv2d:
            let w = operandTypes[1].shape, groups = attrs.convolutionGroups
            let g = window(operandTypes[0].shape, type.shape, window: [w[2], w[3]])
            if groups > 1 { return GroupedConvolution.conv2d(&b, x: x[0], w: x[1], g, outChannels: w[0], groups: groups, out: out) }
            return ConvolutionLowering.conv2d(&b, x: x[0], w: x[1], g, outChannels: w[0], out: out)
        case .conv2d_grad_input:
            let w = operandTypes[1].shape, groups = attrs.convolutionGroups
            let g = window(type.shape, operandTypes[0].shape, window: [w[2], w[3]])
            if groups > 1 { return GroupedConvolution.gradInput(&b, dy: x[0], w: x[1], g, outChannels: w[0], groups: groups, out: out) }
            return ConvolutionLowering.gradInput(&b, dy: x[0], w: x[1], g, outChannels: w[0], out: out)
        case .conv2d_grad_filter:
            let groups = attrs.convolutionGroups
            let g = window(operandTypes[0].shape, operandTypes[1].shape, window: [type.shape[2], type.shape[3]])
            if groups > 1 { return GroupedConvolution.gradFilter(&b, x: x[0], dy: x[1], g, outChannels: type.shape[0], groups: groups, out: out) }
            return ConvolutionLowering.gradFilter(&b, x: x[0], dy: x[1], g, outChannels: type.shape[0], out: out)
        case .max_pool2d:
            return one(PoolingLowering.maxPool(&b, x[0], window(operandTypes[0].shape, type.shape, window: attrs.ints("window")), out: out))
        case .avg_pool2d:
            return one(PoolingLowering.avgPool(&b, x[0], window(operandTypes[0].shape, type.shape, window: attrs.ints("window")), out: out))
        case .max_pool2d_grad:
            let zero = b.kernel(PoolingLowering.zero(&b, out, count: type.shape.elementCount), work: type.shape.elementCount, suffix: "_zero")
            return [zero] + one(PoolingLowering.maxPoolGrad(&b, x[0], dy: x[1], window(operandTypes[0].shape, operandTypes[1].shape, window: attrs.ints("window")), out: out))
        case .avg_pool2d_grad:
            let zero = b.kernel(PoolingLowering.zero(&b, out, count: type.shape.elementCount), work: type.shape.elementCount, suffix: "_zero")
            return [zero] + one(PoolingLowering.avgPoolGrad(&b, dy: x[0], window(type.shape, operandTypes[0].shape, window: attrs.ints("window")), out: out))
        case .transpose:
            return one(LayoutLowering.transpose(&b, x[0], operandTypes[0], perm: attrs.ints("perm"), out: out, type))
        case .reshape:
            return one(LayoutLowering.copy(&b, x[0], out: out, type))
        case .concat:
            let axis = try normalizedAxis(attrs.int("axis"), rank: type.rank, type)
            return one(LayoutLowering.concat(&b, Array(zip(x, operandTypes)), axis: axis, out: out, type))
        case .slice:
            return one(LayoutLowering.slice(&b, x[0], operandTypes[0], begin: attrs.ints("begin"), out: out, type))
        case .pad:
            return one(LayoutLowering.pad(&b, x[0], operandTypes[0], before: attrs.ints("before"), out: out, type))
        case .gather:
            return one(LayoutLowering.gather(&b, table: x[0], operandTypes[0], indices: x[1], count: operandTypes[1].shape.elementCount, out: out))
        case .gather_grad:
            return one(LayoutLowering.gatherGrad(&b, dy: x[0], indices: x[1], count: operandTypes[1].shape.elementCount, out: out, type))
        case .one_hot:
            return one(LayoutLowering.oneHot(&b, indices: x[0], count: operandTypes[0].shape.elementCount, depth: attrs.int("depth"), out: out))
        case .argmax:
            let axis = try normalizedAxis(attrs.int("axis"), rank: operandTypes[0].rank, operandTypes[0])
            return one(LayoutLowering.argmax(&b, x[0], operandTypes[0], axis: axis, out: out), work: operandTypes[0].shape.elementCount)
        case .reduce_sum, .reduce_mean, .reduce_max:
            let input = operandTypes[0]
            let axes = try normalizedAxes(attrs.ints("axes"), input)
            let strides = input.shape.strides
            let body = ReductionLowering.reduce(&b, node.op, input: input.shape, dtype: input.dtype, axes: axes, out: out) { _, index, _ in
                ([], .load(buffer: x[0], index: .linear(index, strides)))
            }
            return one(body, work: input.shape.elementCount)
        case .softmax, .log_softmax:
            let axis = try normalizedAxis(attrs.int("axis"), rank: type.rank, type)
            return one(ReductionLowering.softmax(&b, x[0], shape: type.shape, axis: axis, log: node.op == .log_softmax, out: out), work: 4 * type.shape.elementCount)
        case .softmax_cross_entropy:
            let logits = operandTypes[0].shape
            return one(LossLowering.softmaxCrossEntropy(&b, logits: x[0], labels: x[1], rows: logits[0], classes: logits[1], out: out), work: 0)
        case .softmax_cross_entropy_grad:
            return one(LossLowering.softmaxCrossEntropyGrad(&b, logits: x[0], labels: x[1], dloss: x[2], rows: type.shape[0], classes: type.shape[1], out: out),
                       work: 0)
        case .mse:
            return one(LossLowering.pointwise(&b, .meanSquaredError, x[0], x[1], count: operandTypes[0].shape.elementCount, out: out), work: 0)
        case .binary_cross_entropy:
            return one(LossLowering.pointwise(&b, .binaryCrossEntropy, x[0], x[1], count: operandTypes[0].shape.elementCount, out: out), work: 0)
        case .sigmoid_cross_entropy:
            return one(LossLowering.pointwise(&b, .sigmoidCrossEntropy, x[0], x[1], count: operandTypes[0].shape.elementCount, out: out), work: 0)
        case .fused:
            throw Diagnostic("internal: fused kernel '\(node.name)' has no body", at: node.location)
        }
    }

    static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
