import KilnIR
import Testing

/// Every error path of `OpKind.resultType` (Sources/KilnIR/ShapeRules.swift), each with its
/// exact message: the message is the user interface of a shape error.
struct ShapeRuleErrorTests {
    static func t(_ dims: [Int], _ dtype: DType = .f32) -> TensorType { TensorType(dtype, Shape(dims)) }

    struct Case: CustomTestStringConvertible, Sendable {
        var op: OpKind
        var operands: [TensorType]
        var attributes: [(String, AttrValue)]
        var message: String
        var testDescription: String { "\(op.name): \(message)" }
        init(_ op: OpKind, _ operands: [TensorType], _ attributes: [(String, AttrValue)], _ message: String) {
            (self.op, self.operands, self.attributes, self.message) = (op, operands, attributes, message)
        }
        init(_ op: OpKind, _ operands: [TensorType], _ message: String) { self.init(op, operands, [], message) }
    }

    static let cases: [Case] = [
        // Sources
        Case(.constant, [], [("value", .float(1)), ("shape", .ints([2, 0]))], "shape [2, 0] must have positive dimensions"),
        Case(.random_normal, [], [("shape", .ints([-3]))], "shape [-3] must have positive dimensions"),
        // Binary elementwise and select
        Case(.add, [t([2, 3]), t([3, 2])], "cannot broadcast f32[2, 3] and f32[3, 2]"),
        Case(.add, [t([128, 256]), t([10])], "cannot broadcast f32[128, 256] and f32[10]"),
        Case(.mul, [t([4, 1, 3]), t([2, 5, 1])], "cannot broadcast f32[4, 1, 3] and f32[2, 5, 1]"),
        Case(.sub, [t([2]), t([2], .i32)], "element types differ: f32[2] and i32[2]"),
        Case(.pow, [t([2], .i32), t([2], .i32)], "expects f32, got i32[2]"),
        Case(.select, [t([2]), t([2]), t([2], .i32)], "element types differ: f32[2] and i32[2]"),
        Case(.select, [t([3]), t([2]), t([2])], "cannot broadcast f32[3] and f32[2]"),
        Case(.select, [t([2]), t([4, 3]), t([3])], "cannot broadcast f32[2] and f32[4, 3]"),
        // Unary
        Case(.exp, [t([2], .i32)], "expects f32, got i32[2]"),
        Case(.log, [t([], .i32)], "expects f32, got i32[]"),
        Case(.leaky_relu, [t([3], .i32)], "expects f32, got i32[3]"),
        Case(.dropout, [t([2])], [("rate", .float(1))], "rate must be in [0, 1), got 1.0"),
        Case(.dropout, [t([2])], [("rate", .float(-0.25))], "rate must be in [0, 1), got -0.25"),
        Case(.dropout, [t([2], .i32)], [("rate", .float(0.5))], "expects f32, got i32[2]"),
        Case(.bernoulli, [t([2], .i32)], "expects f32, got i32[2]"),
        Case(.softplus, [t([2], .i32)], "expects f32, got i32[2]"),
        Case(.log1p, [t([2], .i32)], "expects f32, got i32[2]"),
        Case(.expm1, [t([3, 1], .i32)], "expects f32, got i32[3, 1]"),
        Case(.erf, [t([], .i32)], "expects f32, got i32[]"),
        Case(.if_training, [t([1, 3]), t([4, 3])], "the evaluation value f32[4, 3] must broadcast to the training value f32[1, 3]"),
        Case(.if_training, [t([3]), t([3], .i32)], "element types differ: f32[3] and i32[3]"),
        Case(.random_uniform, [], [("shape", .ints([2])), ("low", .float(2)), ("high", .float(1))],
             "low and high must be finite with low <= high, got 2.0 and 1.0"),
        Case(.iota, [], [("shape", .ints([2, 3])), ("axis", .int(2))], "axis 2 is out of range for i32[2, 3]"),
        // matmul
        Case(.matmul, [t([2, 3], .i32), t([3, 2])], "expects f32 operands, got i32[2, 3] and f32[3, 2]"),
        Case(.matmul, [t([3]), t([3, 2])], "operands must have rank 2 or more, got f32[3] and f32[3, 2]"),
        Case(.matmul, [t([2, 3]), t([2, 3])], "inner dimensions differ: f32[2, 3] × f32[2, 3] (3 vs 2)"),
        Case(.matmul, [t([2, 3]), t([2, 3])], [("transpose_b", .bool(true)), ("transpose_a", .bool(true))],
             "inner dimensions differ: f32[2, 3] × f32[2, 3] (2 vs 3)"),
        Case(.matmul, [t([2, 2, 3]), t([3, 3, 4])], "batch dimensions do not broadcast: f32[2, 2, 3] × f32[3, 3, 4]"),
        // conv2d and pooling
        Case(.conv2d, [t([1, 3, 8]), t([4, 3, 3, 3])], "input must be rank 4 (NCHW), got f32[1, 3, 8]"),
        Case(.conv2d, [t([1, 3, 8, 8]), t([4, 3, 3])], "filter must be rank 4 (OIHW), got f32[4, 3, 3]"),
        Case(.conv2d, [t([1, 3, 8, 8], .i32), t([4, 3, 3, 3])], "expects f32, got i32[1, 3, 8, 8]"),
        Case(.conv2d, [t([1, 3, 8, 8]), t([4, 2, 3, 3])],
             "input channels differ: input f32[1, 3, 8, 8] has 3, filter f32[4, 2, 3, 3] expects 2"),
        Case(.conv2d, [t([1, 1, 4, 4]), t([1, 1, 5, 5])], "window [5, 5] is larger than the padded input 4×4 of f32[1, 1, 4, 4]"),
        Case(.conv2d, [t([1, 1, 4, 4]), t([1, 1, 3, 3])], [("stride", .ints([1]))], "stride [1] must be two positive sizes"),
        Case(.conv2d, [t([1, 1, 4, 4]), t([1, 1, 3, 3])], [("padding", .ints([1, -1]))], "padding [1, -1] must be two sizes >= 0"),
        Case(.max_pool2d, [t([4, 4])], [("window", .ints([2, 2]))], "input must be rank 4 (NCHW), got f32[4, 4]"),
        Case(.max_pool2d, [t([1, 1, 4, 4])], [("window", .ints([2, 2])), ("stride", .ints([0, 1]))], "stride [0, 1] must be two positive sizes"),
        Case(.avg_pool2d, [t([1, 1, 4, 4])], [("window", .ints([2, 0]))], "window [2, 0] must be two positive sizes"),
        Case(.avg_pool2d, [t([1, 1, 4, 4])], [("window", .ints([2, 2, 2]))], "window [2, 2, 2] must be two positive sizes"),
        Case(.max_pool2d, [t([1, 1, 4, 4])], [("window", .ints([5, 5]))], "window [5, 5] is larger than the padded input 4×4 of f32[1, 1, 4, 4]"),
        Case(.max_pool2d, [t([1, 1, 4, 4])], [("window", .ints([2, 2])), ("padding", .ints([1 << 62, 0]))],
             "an axis of the padded f32[1, 1, 4, 4] is longer than 2^40"),
        Case(.avg_pool2d, [t([1, 1, 4, 4], .i32)], [("window", .ints([2, 2]))], "expects f32, got i32[1, 1, 4, 4]"),
        // Layout
        Case(.transpose, [t([2, 3])], [("perm", .ints([0, 0]))], "perm [0, 0] is not a permutation of the 2 axes of f32[2, 3]"),
        Case(.transpose, [t([2, 3])], [("perm", .ints([1, 0, 2]))], "perm [1, 0, 2] is not a permutation of the 2 axes of f32[2, 3]"),
        Case(.reshape, [t([6])], [("shape", .ints([-1, -1]))], "shape [-1, -1] may have positive sizes and at most one -1"),
        Case(.reshape, [t([6])], [("shape", .ints([0, 6]))], "shape [0, 6] may have positive sizes and at most one -1"),
        Case(.reshape, [t([6])], [("shape", .ints([4, -1]))], "cannot reshape f32[6] (6 elements) to [4, -1]"),
        Case(.reshape, [t([2, 3])], [("shape", .ints([4, 2]))], "cannot reshape f32[2, 3] (6 elements) to [4, 2] (8 elements)"),
        Case(.reshape, [t([2])], [("shape", .ints([1 << 32, 1 << 32, -1]))],
             "shape [4294967296, 4294967296, -1] has more than 2^40 elements"),
        Case(.broadcast_to, [t([3])], [("shape", .ints([2, 4]))], "cannot broadcast f32[3] and f32[2, 4]"),
        Case(.broadcast_to, [t([2, 3])], [("shape", .ints([3]))], "cannot broadcast f32[2, 3] to [3]"),
        Case(.broadcast_to, [t([3])], [("shape", .ints([0, 3]))], "shape [0, 3] must have positive dimensions"),
        Case(.concat, [t([2, 3]), t([2, 3], .i32)], [("axis", .int(0))], "cannot concatenate f32[2, 3] and i32[2, 3] along axis 0"),
        Case(.concat, [t([2, 3]), t([3, 3])], [("axis", .int(1))], "cannot concatenate f32[2, 3] and f32[3, 3] along axis 1"),
        Case(.concat, [t([2, 3]), t([2, 3, 1])], [("axis", .int(0))], "cannot concatenate f32[2, 3] and f32[2, 3, 1] along axis 0"),
        Case(.concat, [t([2, 3])], [("axis", .int(2))], "axis 2 is out of range for f32[2, 3]"),
        Case(.slice, [t([4, 4])], [("begin", .ints([0])), ("end", .ints([4, 4]))], "begin and end need 2 entries for f32[4, 4]"),
        Case(.slice, [t([4, 4])], [("begin", .ints([0, 2])), ("end", .ints([4, 5]))], "slice [2, 5) is out of bounds for axis 1 of f32[4, 4]"),
        Case(.slice, [t([4, 4])], [("begin", .ints([-1, 0])), ("end", .ints([4, 4]))], "slice [-1, 4) is out of bounds for axis 0 of f32[4, 4]"),
        Case(.slice, [t([4, 4])], [("begin", .ints([3, 0])), ("end", .ints([2, 4]))], "slice [3, 2) is out of bounds for axis 0 of f32[4, 4]"),
        Case(.slice, [t([4, 5])], [("begin", .ints([1, 0])), ("end", .ints([1, 5]))], "slice [1, 1) of axis 0 of f32[4, 5] is empty"),
        Case(.pad, [t([2])], [("before", .ints([-1])), ("after", .ints([0]))], "before and after need 1 non-negative entries for f32[2]"),
        Case(.pad, [t([2, 2])], [("before", .ints([1])), ("after", .ints([0, 0]))], "before and after need 2 non-negative entries for f32[2, 2]"),
        Case(.pad, [t([2])], [("before", .ints([Int.max])), ("after", .ints([1]))], "an axis of the padded f32[2] is longer than 2^40"),
        Case(.gather, [t([]), t([3], .i32)], "table must have rank 1 or more, got f32[]"),
        Case(.gather, [t([5, 2]), t([3])], "indices must be i32, got f32[3]"),
        Case(.gather_grad, [t([3, 4]), t([3])], [("rows", .int(10))], "indices must be i32, got f32[3]"),
        Case(.gather_grad, [t([3, 4]), t([3], .i32)], [("rows", .int(0))], "rows must be positive, got 0"),
        Case(.gather_grad, [t([3, 4]), t([2], .i32)], [("rows", .int(10))], "gradient f32[3, 4] does not start with the indices' shape [2]"),
        Case(.one_hot, [t([3])], [("depth", .int(4))], "expects i32 indices, got f32[3]"),
        Case(.one_hot, [t([3], .i32)], [("depth", .int(0))], "depth must be positive, got 0"),
        Case(.argmax, [t([5, 3])], [("axis", .int(2))], "axis 2 is out of range for f32[5, 3]"),
        Case(.argmax, [t([5, 3])], [("axis", .int(-3))], "axis -3 is out of range for f32[5, 3]"),
        // Reductions and normalisations
        Case(.reduce_sum, [t([4, 4])], [("axes", .ints([2]))], "axis 2 is out of range for f32[4, 4]"),
        Case(.reduce_max, [t([4, 4])], [("axes", .ints([-3]))], "axis -3 is out of range for f32[4, 4]"),
        Case(.reduce_sum, [t([2, 3])], [("axes", .ints([1, -1]))], "axes [1, -1] repeat an axis of f32[2, 3]"),
        Case(.reduce_mean, [t([4], .i32)], [("axes", .ints([0]))], "expects f32, got i32[4]"),
        Case(.softmax, [t([2, 3])], [("axis", .int(2))], "axis 2 is out of range for f32[2, 3]"),
        Case(.log_softmax, [t([])], [], "axis -1 is out of range for f32[]"),
        Case(.softmax, [t([2], .i32)], [], "expects f32, got i32[2]"),
        // Losses
        Case(.softmax_cross_entropy, [t([8, 10]), t([8])], "labels must be i32[8] for logits f32[8, 10], got f32[8]"),
        Case(.softmax_cross_entropy, [t([8, 10]), t([4], .i32)], "labels must be i32[8] for logits f32[8, 10], got i32[4]"),
        Case(.softmax_cross_entropy, [t([8, 10, 2]), t([8], .i32)], "logits must be f32[N, C], got f32[8, 10, 2]"),
        Case(.softmax_cross_entropy_grad, [t([8, 10]), t([8], .i32), t([1])], "loss gradient must be a scalar, got f32[1]"),
        Case(.mse, [t([2, 3]), t([3, 2])], "prediction f32[2, 3] and target f32[3, 2] differ in shape"),
        Case(.binary_cross_entropy, [t([4]), t([4], .i32)], "expects f32, got i32[4]"),
        Case(.sigmoid_cross_entropy, [t([4, 1]), t([4])], "prediction f32[4, 1] and target f32[4] differ in shape"),
        // Gradient helpers and kernels
        Case(.conv2d_grad_input, [t([1, 1, 2, 2]), t([1, 1, 3, 3])], [("shape", .ints([1, 4, 4]))], "shape must have 4 dimensions, got [1, 4, 4]"),
        Case(.conv2d_grad_filter, [t([1, 1, 4, 4]), t([1, 1, 2, 2])], [("shape", .ints([1, 1, 0, 3]))], "shape [1, 1, 0, 3] must have positive dimensions"),
        Case(.avg_pool2d_grad, [t([1, 1, 2, 2])], [("shape", .ints([4, 4])), ("window", .ints([2, 2]))], "shape must have 4 dimensions, got [4, 4]"),
        Case(.fused, [t([2])], [], "a fused kernel's types come from its body"),
    ]

    @Test("shape errors name the shapes involved", arguments: cases)
    func error(_ c: Case) throws {
        let attributes = try c.op.normalize(c.attributes)
        #expect(throws: TypeError(c.message)) { try c.op.resultType(c.operands, attributes) }
    }

    @Test("every op with a failing rule has at least one error case here")
    func coverage() {
        let covered = Set(Self.cases.map(\.op))
        // Ops whose rule cannot fail: they accept any operand type the arity allows.
        let total: Set<OpKind> = [.neg, .abs, .square, .sign, .relu, .cast, .max_pool2d_grad,
                                  .div, .max, .min, .equal, .not_equal, .less, .less_equal, .greater, .greater_equal,
                                  .sqrt, .rsqrt, .tanh, .sigmoid, .elu, .stop_gradient]
        for op in OpKind.allCases where !covered.contains(op) {
            #expect(total.contains(op), "\(op.name) has no error case")
        }
    }

    @Test("an inferred result over 2^40 elements is a diagnostic at the node")
    func hugeResult() throws {
        let node = Node(name: "y", op: .one_hot, operands: ["i"], attributes: try OpKind.one_hot.normalize([("depth", .int(1 << 30))]),
                        location: SourceLocation(file: "f.kiln", line: 3, column: 7))
        #expect(throws: Diagnostic("one_hot: result f32[1048576, 1073741824] has more than 2^40 elements",
                                   at: SourceLocation(file: "f.kiln", line: 3, column: 7))) {
            try inferType(of: node, types: ["i": TensorType(.i32, [1 << 20])])
        }
    }
}
