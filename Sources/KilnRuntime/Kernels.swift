import KilnIR

/// The interpreter's kernel for every op: an op computed element by element runs its definition
/// (`ElementwiseMeaning`, through `ElementwiseProgram`), every other op its kernel from one
/// exhaustive switch over `StructuralOp` (no `default:`), so a new structural op does not
/// compile until it has a kernel here, and a new elementwise op needs nothing here.
enum Kernels {
    /// Computes `node` from its operand tensors into the preallocated `out`; `elementwise` is
    /// the node's loops compiled beforehand (for these operand types), if it is elementwise.
    static func execute(_ node: Node, _ x: [Tensor], into out: Tensor, step: Int, elementwise: ElementwiseProgram? = nil) throws {
        let attrs = node.attributes
        guard let op = node.op.structural else {
            // Every op computed element by element runs its one definition (`ElementwiseMeaning`).
            if let elementwise, elementwise.compiled(for: x) {
                elementwise.run(x, into: out, step: step)
            } else {
                try ElementwiseProgram.run(node, x, into: out, step: step)
            }
            return
        }
        switch op {
        case .matmul:
            BLAS.matmul(x[0], x[1], transA: attrs.bool("transpose_a"), transB: attrs.bool("transpose_b"), into: out)
        case .conv2d:
            let groups = attrs.convolutionGroups
            if groups > 1 { GroupedConvolutionKernels.conv2d(x[0], x[1], attrs, groups: groups, into: out) }
            else { ConvolutionKernels.conv2d(x[0], x[1], attrs, into: out) }
        case .conv2d_grad_input:
            let groups = attrs.convolutionGroups
            if groups > 1 { GroupedConvolutionKernels.gradInput(x[0], x[1], attrs, groups: groups, into: out) }
            else { ConvolutionKernels.gradInput(x[0], x[1], attrs, into: out) }
        case .conv2d_grad_filter:
            let groups = attrs.convolutionGroups
            if groups > 1 { GroupedConvolutionKernels.gradFilter(x[0], x[1], attrs, groups: groups, into: out) }
            else { ConvolutionKernels.gradFilter(x[0], x[1], attrs, into: out) }
        case .max_pool2d: PoolingKernels.maxPool(x[0], attrs, into: out)
        case .avg_pool2d: PoolingKernels.avgPool(x[0], attrs, into: out)
        case .max_pool2d_grad: PoolingKernels.maxPoolGrad(x[0], x[1], attrs, into: out)
        case .avg_pool2d_grad: PoolingKernels.avgPoolGrad(x[0], attrs, into: out)
        case .transpose: LayoutKernels.transpose(x[0], perm: attrs.ints("perm"), into: out)
        case .reshape: LayoutKernels.copy(x[0], into: out)
        case .concat: try LayoutKernels.concat(x, axis: attrs.int("axis"), into: out)
        case .slice: LayoutKernels.slice(x[0], begin: attrs.ints("begin"), into: out)
        case .pad: LayoutKernels.pad(x[0], before: attrs.ints("before"), into: out)
        case .gather: try LayoutKernels.gather(x[0], x[1], into: out)
        case .gather_grad: try LayoutKernels.gatherGrad(x[0], x[1], into: out)
        case .one_hot: LayoutKernels.oneHot(x[0], depth: attrs.int("depth"), into: out)
        case .argmax: try ReductionKernels.argmax(x[0], axis: attrs.int("axis"), into: out)
        case .reduce_sum, .reduce_mean, .reduce_max: try ReductionKernels.reduce(node.op, x[0], attrs, into: out)
        case .softmax: try ReductionKernels.softmax(x[0], axis: attrs.int("axis"), log: false, into: out)
        case .log_softmax: try ReductionKernels.softmax(x[0], axis: attrs.int("axis"), log: true, into: out)
        case .softmax_cross_entropy: try LossKernels.softmaxCrossEntropy(x[0], x[1], into: out)
        case .softmax_cross_entropy_grad: try LossKernels.softmaxCrossEntropyGrad(x[0], x[1], x[2], into: out)
        case .mse: LossKernels.pointwise(.meanSquaredError, x[0], x[1], into: out)
        case .binary_cross_entropy: LossKernels.pointwise(.binaryCrossEntropy, x[0], x[1], into: out)
        case .sigmoid_cross_entropy: LossKernels.pointwise(.sigmoidCrossEntropy, x[0], x[1], into: out)
        case .fused:
            throw Diagnostic("internal: fused kernel '\(node.name)' must run through its body", at: node.location)
        }
    }
}
