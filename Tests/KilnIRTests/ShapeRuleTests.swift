import KilnIR
import Testing

/// One typed example per op (checked to cover every `OpKind`), plus broadcasting corners and
/// error paths with their exact messages.
struct ShapeRuleTests {
    static func t(_ dims: [Int], _ dtype: DType = .f32) -> TensorType { TensorType(dtype, Shape(dims)) }

    /// op → (operand types, attributes, expected result).
    static let examples: [OpKind: ([TensorType], [(String, AttrValue)], TensorType)] = [
        .constant: ([], [("value", .float(2)), ("shape", .ints([2, 3]))], t([2, 3])),
        .random_normal: ([], [("shape", .ints([5]))], t([5])),
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
        .elu: ([t([2])], [], t([2])), .cast: ([t([2, 2])], [("dtype", .dtype(.i32))], t([2, 2], .i32)),
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

    static let errors: [(OpKind, [TensorType], [(String, AttrValue)], String)] = [
        (.add, [t([2, 3]), t([3, 2])], [], "cannot broadcast f32[2, 3] and f32[3, 2]"),
        (.exp, [t([2], .i32)], [], "expects f32, got i32[2]"),
        (.matmul, [t([2, 3]), t([2, 3])], [], "inner dimensions differ: f32[2, 3] × f32[2, 3] (3 vs 2)"),
        (.matmul, [t([2, 2, 3]), t([3, 3, 4])], [], "batch dimensions differ: f32[2, 2, 3] × f32[3, 3, 4]"),
        (.conv2d, [t([1, 3, 8]), t([4, 3, 3, 3])], [], "input must be rank 4 (NCHW), got f32[1, 3, 8]"),
        (.max_pool2d, [t([1, 1, 4, 4])], [("window", .ints([2, 2])), ("stride", .ints([0, 1]))], "stride [0, 1] must be two positive sizes"),
        (.broadcast_to, [t([3])], [("shape", .ints([2, 4]))], "cannot broadcast f32[3] and f32[2, 4]"),
        (.reshape, [t([6])], [("shape", .ints([-1, -1]))], "shape [-1, -1] may have positive sizes and at most one -1"),
        (.gather, [t([5, 2]), t([3])], [], "indices must be i32, got f32[3]"),
        (.one_hot, [t([3], .i32)], [("depth", .int(0))], "depth must be positive, got 0"),
        (.reduce_sum, [t([2, 3])], [("axes", .ints([1, -1]))], "axes [1, -1] repeat an axis of f32[2, 3]"),
        (.softmax, [t([2, 3])], [("axis", .int(2))], "axis 2 is out of range for f32[2, 3]"),
        (.mse, [t([2, 3]), t([3, 2])], [], "prediction f32[2, 3] and target f32[3, 2] differ in shape"),
        (.dropout, [t([2])], [("rate", .float(1))], "rate must be in [0, 1), got 1.0"),
        (.pad, [t([2])], [("before", .ints([-1])), ("after", .ints([0]))], "before and after need 1 non-negative entries for f32[2]"),
        (.concat, [t([2, 3]), t([2, 3], .i32)], [("axis", .int(0))], "cannot concatenate f32[2, 3] and i32[2, 3] along axis 0"),
    ]

    @Test("shape errors name the shapes involved", arguments: 0..<errors.count)
    func error(_ index: Int) throws {
        let (op, operands, attributes, message) = Self.errors[index]
        #expect(throws: TypeError(message)) { try op.resultType(operands, try op.normalize(attributes)) }
    }
}
