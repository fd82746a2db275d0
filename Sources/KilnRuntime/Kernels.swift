import KilnIR

/// The interpreter's kernel for every op: one exhaustive switch over `OpKind` (no
/// `default:`), so a new op does not compile until it has a kernel here.
enum Kernels {
    /// Computes `node` from its operand tensors into the preallocated `out`.
    static func execute(_ node: Node, _ x: [Tensor], into out: Tensor, step: Int) throws {
        let attrs = node.attributes
        switch node.op {
        case .constant: ElementwiseKernels.constant(attrs, into: out)
        case .random_normal: ElementwiseKernels.randomNormal(attrs, step: step, into: out)
        case .random_uniform: ElementwiseKernels.randomUniform(attrs, step: step, into: out)
        case .iota: ElementwiseKernels.iota(axis: attrs.int("axis"), into: out)
        case .add: ElementwiseKernels.binary(.add, x[0], x[1], into: out)
        case .sub: ElementwiseKernels.binary(.sub, x[0], x[1], into: out)
        case .mul: ElementwiseKernels.binary(.mul, x[0], x[1], into: out)
        case .div: ElementwiseKernels.binary(.div, x[0], x[1], into: out)
        case .max: ElementwiseKernels.binary(.max, x[0], x[1], into: out)
        case .min: ElementwiseKernels.binary(.min, x[0], x[1], into: out)
        case .pow: ElementwiseKernels.binary(.pow, x[0], x[1], into: out)
        case .equal: ElementwiseKernels.binary(.equal, x[0], x[1], into: out)
        case .not_equal: ElementwiseKernels.binary(.notEqual, x[0], x[1], into: out)
        case .less: ElementwiseKernels.binary(.less, x[0], x[1], into: out)
        case .less_equal: ElementwiseKernels.binary(.lessEqual, x[0], x[1], into: out)
        case .greater: ElementwiseKernels.binary(.greater, x[0], x[1], into: out)
        case .greater_equal: ElementwiseKernels.binary(.greaterEqual, x[0], x[1], into: out)
        case .select: ElementwiseKernels.select(x[0], x[1], x[2], into: out)
        case .neg: ElementwiseKernels.unary(.neg, x[0], attrs, into: out)
        case .exp: ElementwiseKernels.unary(.exp, x[0], attrs, into: out)
        case .log: ElementwiseKernels.unary(.log, x[0], attrs, into: out)
        case .sqrt: ElementwiseKernels.unary(.sqrt, x[0], attrs, into: out)
        case .rsqrt: ElementwiseKernels.unary(.rsqrt, x[0], attrs, into: out)
        case .square: ElementwiseKernels.unary(.square, x[0], attrs, into: out)
        case .abs: ElementwiseKernels.unary(.abs, x[0], attrs, into: out)
        case .sign: ElementwiseKernels.unary(.sign, x[0], attrs, into: out)
        case .tanh: ElementwiseKernels.unary(.tanh, x[0], attrs, into: out)
        case .sigmoid: ElementwiseKernels.unary(.sigmoid, x[0], attrs, into: out)
        case .relu: ElementwiseKernels.unary(.relu, x[0], attrs, into: out)
        case .leaky_relu: ElementwiseKernels.unary(.leakyRelu, x[0], attrs, into: out)
        case .elu: ElementwiseKernels.unary(.elu, x[0], attrs, into: out)
        case .cast: ElementwiseKernels.cast(x[0], into: out)
        case .log1p: ElementwiseKernels.unary(.log1p, x[0], attrs, into: out)
        case .expm1: ElementwiseKernels.unary(.expm1, x[0], attrs, into: out)
        case .erf: ElementwiseKernels.unary(.erf, x[0], attrs, into: out)
        case .softplus: ElementwiseKernels.softplus(x[0], into: out)
        case .stop_gradient: LayoutKernels.copy(x[0], into: out)
        // Training value; `eval-mode` rewrites the node before an evaluation graph runs.
        case .if_training: LayoutKernels.copy(x[0], into: out)
        case .bernoulli: ElementwiseKernels.bernoulli(x[0], seed: attrs.int("seed"), step: step, into: out)
        case .dropout:
            ElementwiseKernels.dropout(x[0], rate: Float(attrs.float("rate")), seed: attrs.int("seed"), step: step, into: out)
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
        case .broadcast_to: broadcastCopy(x[0], into: out)
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
