import KilnIR
import Testing

/// One typed example per op (checked to cover every `OpKind`), plus corner cases of
/// broadcasting, matmul, windows, reductions and layout. Error paths: ShapeRuleErrorTests.
struct ShapeRuleTests {
    static func t(_ dims: [Int], _ dtype: DType = .f32) -> TensorType { TensorType(dtype, Shape(dims)) }

    /// op → (operand types, attributes, expected result).
    static let examples: [OpKind: ([TensorType], [(String, AttrValue)], TensorType)] = [
        .constant: ([], [("value", .float(2)), ("shape", .ints([2, 3]))], t([2, 3])),
        .random_normal: ([], [("shape", .ints([5]))], t([5])),
        .random_uniform: ([], [("shape", .ints([2, 5])), ("low", .float(-1))], t([2, 5])),
        .iota: ([], [("shape", .ints([3, 4])), ("axis", .int(-1))], t([3, 4], .i32)),
        .softplus: ([t([2])], [], t([2])), .stop_gradient: ([t([2], .i32)], [], t([2], .i32)),
        .bernoulli: ([t([3, 2])], [("seed", .int(4))], t([3, 2])),
        .if_training: ([t([4, 3]), t([1, 3])], [], t([4, 3])),
        .add: ([t([3, 1, 4]), t([5, 4])], [], t([3, 5, 4])),
        .sub: ([t([]), t([2])], [], t([2])), .mul: ([t([2, 1]), t([1, 3])], [], t([2, 3])),
        .div: ([t([4]), t([4])], [], t([4])), .max: ([t([1]), t([6, 1])], [], t([6, 1])),
        .min: ([t([2, 2]), t([])], [], t([2, 2])), .pow: ([t([3]), t([3])], [], t([3])),
        .equal: ([t([2], .i32), t([2], .i32)], [], t([2], .i32)), .not_equal: ([t([2]), t([2])], [], t([2])),
        .less: ([t([2]), t([])], [], t([2])), .less_equal: ([t([2]), t([2])], [], t([2])),
        .greater: ([t([2]), t([2])], [], t([2])), .greater_equal: ([t([2]), t([2])], [], t([2])),
        .select: ([t([2, 1]), t([3]), t([2, 3])], [], t([2, 3])),
        .neg: ([t([2], .i32)], [], t([2], .i32)), .exp: ([t([2])], [], t([2])), .log: ([t([2])], [], t([2])),
        .sqrt: ([t([2])], [], t([2])), .rsqrt: ([t([2])], [], t([2])), .square: ([t([2])], [], t([2])),
        .abs: ([t([2])], [], t([2])), .sign: ([t([2])], [], t([2])), .tanh: ([t([2])], [], t([2])),
        .sigmoid: ([t([2])], [], t([2])), .relu: ([t([2])], [], t([2])), .leaky_relu: ([t([2])], [], t([2])),
        .elu: ([t([2])], [], t([2])), .log1p: ([t([2, 3])], [], t([2, 3])), .expm1: ([t([4])], [], t([4])),
        .erf: ([t([])], [], t([])), .cast: ([t([2, 2])], [("dtype", .dtype(.i32))], t([2, 2], .i32)),
        .dropout: ([t([4, 4])], [("rate", .float(0.5))], t([4, 4])),
        .matmul: ([t([2, 5, 3]), t([4, 3])], [("transpose_b", .bool(true))], t([2, 5, 4])),
        .conv2d: ([t([8, 3, 32, 32]), t([16, 3, 5, 5])], [("stride", .ints([2, 2])), ("padding", .ints([2, 2]))], t([8, 16, 16, 16])),
        .max_pool2d: ([t([1, 2, 7, 7])], [("window", .ints([3, 3])), ("stride", .ints([2, 2]))], t([1, 2, 3, 3])),
        .avg_pool2d: ([t([1, 2, 6, 6])], [("window", .ints([2, 2]))], t([1, 2, 3, 3])),
        .transpose: ([t([2, 3, 4])], [("perm", .ints([2, 0, 1]))], t([4, 2, 3])),
        .reshape: ([t([2, 3, 4])], [("shape", .ints([-1, 4]))], t([6, 4])),
        .broadcast_to: ([t([3, 1])], [("shape", .ints([2, 3, 5]))], t([2, 3, 5])),
        .concat: ([t([2, 3]), t([2, 1])], [("axis", .int(-1))], t([2, 4])),
        .slice: ([t([4, 5])], [("begin", .ints([1, 0])), ("end", .ints([3, 5]))], t([2, 5])),
        .pad: ([t([2, 3])], [("before", .ints([1, 0])), ("after", .ints([0, 2]))], t([3, 5])),
        .gather: ([t([10, 4]), t([2, 3], .i32)], [], t([2, 3, 4])),
        .gather_grad: ([t([2, 3, 4]), t([2, 3], .i32)], [("rows", .int(10))], t([10, 4])),
        .one_hot: ([t([5], .i32)], [("depth", .int(3))], t([5, 3])),
        .argmax: ([t([5, 3])], [("axis", .int(1))], t([5], .i32)),
        .reduce_sum: ([t([2, 3, 4])], [("axes", .ints([0, -1]))], t([3])),
        .reduce_mean: ([t([2, 3, 4])], [("axes", .ints([1])), ("keep_dims", .bool(true))], t([2, 1, 4])),
        .reduce_max: ([t([2, 3])], [("axes", .ints([0, 1]))], t([])),
        .softmax: ([t([2, 3])], [("axis", .int(1))], t([2, 3])), .log_softmax: ([t([2, 3])], [], t([2, 3])),
        .softmax_cross_entropy: ([t([8, 10]), t([8], .i32)], [], t([])),
        .softmax_cross_entropy_grad: ([t([8, 10]), t([8], .i32), t([])], [], t([8, 10])),
        .mse: ([t([4, 2]), t([4, 2])], [], t([])), .binary_cross_entropy: ([t([4]), t([4])], [], t([])),
        .sigmoid_cross_entropy: ([t([4]), t([4])], [], t([])),
        .conv2d_grad_input: ([t([8, 16, 16, 16]), t([16, 3, 5, 5])], [("shape", .ints([8, 3, 32, 32])), ("stride", .ints([2, 2])), ("padding", .ints([2, 2]))], t([8, 3, 32, 32])),
        .conv2d_grad_filter: ([t([8, 3, 32, 32]), t([8, 16, 16, 16])], [("shape", .ints([16, 3, 5, 5]))], t([16, 3, 5, 5])),
        .max_pool2d_grad: ([t([1, 2, 6, 6]), t([1, 2, 3, 3])], [("window", .ints([2, 2]))], t([1, 2, 6, 6])),
        .avg_pool2d_grad: ([t([1, 2, 3, 3])], [("shape", .ints([1, 2, 6, 6])), ("window", .ints([2, 2]))], t([1, 2, 6, 6])),
    ]

    @Test("every op has a typed example and it infers exactly", arguments: OpKind.allCases.filter { $0 != .fused })
    func example(_ op: OpKind) throws {
        let (operands, attributes, expected) = try #require(Self.examples[op], "no shape example for \(op.name)")
        #expect(try op.resultType(operands, try op.normalize(attributes)) == expected)
    }

    /// Corner cases beyond the one example per op: (op, operands, attributes, expected result).
    static let corners: [(OpKind, [TensorType], [(String, AttrValue)], TensorType)] = [
        // Broadcasting: scalars, size-1 axes on either side, rank promotion, both sides stretching.
        (.add, [t([]), t([])], [], t([])),
        (.add, [t([2, 3]), t([])], [], t([2, 3])),
        (.mul, [t([]), t([4, 1, 2])], [], t([4, 1, 2])),
        (.add, [t([128, 256]), t([256])], [], t([128, 256])),
        (.add, [t([128, 256]), t([1])], [], t([128, 256])),
        (.sub, [t([5, 1, 3]), t([4, 1])], [], t([5, 4, 3])),
        (.max, [t([1, 1]), t([1])], [], t([1, 1])),
        (.div, [t([1, 6, 1]), t([7, 1, 5])], [], t([7, 6, 5])),
        (.less, [t([3], .i32), t([2, 1], .i32)], [], t([2, 3], .i32)),
        (.select, [t([]), t([2, 1]), t([1, 3])], [], t([2, 3])),
        (.select, [t([4, 1, 1], .i32), t([3]), t([3])], [], t([4, 1, 3])),
        // matmul: plain, each transpose, batched × shared, shared × batched, batched × batched.
        (.matmul, [t([2, 3]), t([3, 2])], [], t([2, 2])),
        (.matmul, [t([3, 2]), t([3, 4])], [("transpose_a", .bool(true))], t([2, 4])),
        (.matmul, [t([2, 3]), t([4, 3])], [("transpose_b", .bool(true))], t([2, 4])),
        (.matmul, [t([3, 2]), t([4, 3])], [("transpose_a", .bool(true)), ("transpose_b", .bool(true))], t([2, 4])),
        (.matmul, [t([5, 2, 3]), t([3, 4])], [], t([5, 2, 4])),
        (.matmul, [t([2, 3]), t([5, 3, 4])], [], t([5, 2, 4])),
        (.matmul, [t([5, 2, 3]), t([5, 3, 4])], [], t([5, 2, 4])),
        (.matmul, [t([5, 3, 2]), t([5, 4, 3])], [("transpose_a", .bool(true)), ("transpose_b", .bool(true))], t([5, 2, 4])),
        // Any rank: batch axes broadcast like NumPy's matmul.
        (.matmul, [t([2, 1, 3, 4]), t([6, 4, 5])], [], t([2, 6, 3, 5])),
        (.matmul, [t([7, 2, 3]), t([1, 1, 3, 4])], [], t([1, 7, 2, 4])),
        (.matmul, [t([3, 2, 5, 2, 3]), t([3, 4])], [], t([3, 2, 5, 2, 4])),
        // conv2d / pooling: out = (in + 2·pad − window) / stride + 1, rounded down.
        (.conv2d, [t([64, 1, 28, 28]), t([6, 1, 5, 5])], [("padding", .ints([2, 2]))], t([64, 6, 28, 28])),
        (.conv2d, [t([64, 6, 14, 14]), t([16, 6, 5, 5])], [], t([64, 16, 10, 10])),
        (.conv2d, [t([1, 3, 7, 9]), t([2, 3, 3, 3])], [("stride", .ints([2, 3]))], t([1, 2, 3, 3])),
        (.conv2d, [t([1, 1, 5, 5]), t([1, 1, 5, 5])], [], t([1, 1, 1, 1])),
        (.conv2d, [t([1, 1, 4, 6]), t([1, 1, 3, 1])], [("stride", .ints([2, 2])), ("padding", .ints([1, 0]))], t([1, 1, 2, 3])),
        (.max_pool2d, [t([64, 6, 28, 28])], [("window", .ints([2, 2]))], t([64, 6, 14, 14])),
        (.max_pool2d, [t([1, 1, 5, 5])], [("window", .ints([2, 2]))], t([1, 1, 2, 2])),
        (.max_pool2d, [t([1, 1, 5, 5])], [("window", .ints([3, 3])), ("stride", .ints([1, 1])), ("padding", .ints([1, 1]))], t([1, 1, 5, 5])),
        (.avg_pool2d, [t([2, 3, 8, 6])], [("window", .ints([4, 2])), ("stride", .ints([4, 1]))], t([2, 3, 2, 5])),
        // Reductions: negative axes, several axes, keep_dims, all axes to a scalar, no axes.
        (.reduce_sum, [t([2, 3, 4])], [("axes", .ints([-1]))], t([2, 3])),
        (.reduce_sum, [t([2, 3, 4])], [("axes", .ints([-1])), ("keep_dims", .bool(true))], t([2, 3, 1])),
        (.reduce_mean, [t([2, 3, 4])], [("axes", .ints([2, 0])), ("keep_dims", .bool(true))], t([1, 3, 1])),
        (.reduce_max, [t([2, 3, 4])], [("axes", .ints([0, 1, 2])), ("keep_dims", .bool(true))], t([1, 1, 1])),
        (.reduce_sum, [t([2, 3], .i32)], [("axes", .ints([]))], t([2, 3], .i32)),
        (.softmax, [t([2, 3, 4])], [("axis", .int(-2))], t([2, 3, 4])),
        // Layout: reshape with -1 anywhere, to a scalar; concat of three; slices and pads.
        (.reshape, [t([64, 16, 5, 5])], [("shape", .ints([64, -1]))], t([64, 400])),
        (.reshape, [t([2, 3, 4])], [("shape", .ints([-1]))], t([24])),
        (.reshape, [t([1, 1])], [("shape", .ints([]))], t([])),
        (.reshape, [t([])], [("shape", .ints([1, -1, 1]))], t([1, 1, 1])),
        (.concat, [t([2, 1]), t([2, 2]), t([2, 3])], [("axis", .int(1))], t([2, 6])),
        (.concat, [t([2, 3], .i32)], [("axis", .int(0))], t([2, 3], .i32)),
        (.slice, [t([4, 5])], [("begin", .ints([0, 0])), ("end", .ints([4, 5]))], t([4, 5])),
        (.slice, [t([4, 5])], [("begin", .ints([3, 4])), ("end", .ints([4, 5]))], t([1, 1])),
        (.pad, [t([1, 2, 3])], [("before", .ints([0, 0, 0])), ("after", .ints([0, 0, 0]))], t([1, 2, 3])),
        (.broadcast_to, [t([])], [("shape", .ints([2, 2]))], t([2, 2])),
        (.broadcast_to, [t([2, 3])], [("shape", .ints([2, 3]))], t([2, 3])),
        (.transpose, [t([])], [("perm", .ints([]))], t([])),
        (.gather, [t([10]), t([4], .i32)], [], t([4])),
        (.gather, [t([1000, 16]), t([], .i32)], [], t([16])),
        (.one_hot, [t([], .i32)], [("depth", .int(10))], t([10])),
        (.argmax, [t([5, 3])], [("axis", .int(-1))], t([5], .i32)),
        (.argmax, [t([7], .i32)], [("axis", .int(0))], t([], .i32)),
        (.cast, [t([3], .i32)], [("dtype", .dtype(.f32))], t([3])),
        // Losses are scalars whatever the batch.
        (.softmax_cross_entropy, [t([1, 2]), t([1], .i32)], [], t([])),
        (.mse, [t([]), t([])], [], t([])),
        (.binary_cross_entropy, [t([4, 1]), t([4, 1])], [], t([])),
        (.sigmoid_cross_entropy, [t([2, 3, 4]), t([2, 3, 4])], [], t([])),
    ]

    @Test("shape rule corner cases", arguments: 0..<corners.count)
    func corner(_ index: Int) throws {
        let (op, operands, attributes, expected) = Self.corners[index]
        #expect(try op.resultType(operands, try op.normalize(attributes)) == expected, "\(op.name)\(operands)")
    }
}
