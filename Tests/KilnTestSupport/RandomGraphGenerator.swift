import KilnIR

/// Seeded random valid graphs, built through `GraphBuilder` the way the DSL and the passes
/// build them: every op of the op table (fused kernels and gradient helpers included) with
/// fitting shapes and random attributes, numpy broadcasting partners, unnamed `%N` temporaries
/// and named values, params of every initializer kind, state with update lines, float
/// constants of both signs and in exponent form, and one to three outputs. Shared by the IR's
/// round-trip and mutation tests and the JIT's differential tests (the KilnTestSupport target).
public struct RandomGraphGenerator {
    /// A small linear congruential generator: the same seed gives the same graph everywhere.
    public struct Rng {
        public var state: UInt64
        public init(state: UInt64) { self.state = state }
        public mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(Swift.max(n, 1)))
        }
        public mutating func pick<T>(_ items: [T]) -> T { items[next(items.count)] }
        public mutating func chance(_ percent: Int) -> Bool { next(100) < percent }
    }

    static let floats: [Double] = [-1.5, 2e-8, 3.0, 0.1, -7e5, 1.25e30, -0.003, 42.0]

    var rng: Rng
    var b: GraphBuilder
    /// f32 values ops may read.
    var pool: [String] = []
    let rows: Int, cols: Int, indexCount: Int

    /// The graph of `seed` (the same graph on every machine).
    public static func make(seed: UInt64) throws -> Graph {
        var g = RandomGraphGenerator(seed: seed)
        try g.declare()
        for _ in 0..<(4 + g.rng.next(12)) { try g.step() }
        try g.finish()
        return g.b.graph
    }

    init(seed: UInt64) {
        rng = Rng(state: seed &* 2654435761 &+ 1)
        b = GraphBuilder(name: "random\(seed)", infersTypes: true)
        rows = 1 + rng.next(4)
        cols = 1 + rng.next(5)
        indexCount = 1 + rng.next(3)
    }

    func type(_ name: String) -> TensorType { b.type(of: name) ?? TensorType(.f32, .scalar) }
    mutating func float() -> Double { rng.pick(Self.floats) }
    /// Sometimes a readable name, mostly an anonymous `%N` temporary.
    mutating func name() -> String? { rng.chance(25) ? b.freeName("v") : nil }

    @discardableResult
    mutating func add(_ op: OpKind, _ operands: [String], _ attrs: [(String, AttrValue)] = [], keep: Bool = true) throws -> String {
        let result = try b.add(op, operands, attrs, name: name())
        if keep, type(result).dtype == .f32 { pool.append(result) }
        return result
    }

    mutating func declare() throws {
        try b.addInput("x", TensorType(.f32, [rows, cols]))
        try b.addInput("labels", TensorType(.i32, [rows]))
        try b.addInput("idx", TensorType(.i32, [indexCount]))
        let square = TensorType(.f32, [cols, cols]), vector = TensorType(.f32, [cols])
        try b.addParam("w", square, .glorotUniform)
        try b.addParam("bias", vector, .zeros)
        try b.addParam("scale", vector, .ones)
        try b.addParam("shift", TensorType(.f32, [1]), .constant(float()))
        try b.addParam("u", square, .uniform(-1, 2.5e-3))
        try b.addParam("noise", TensorType(.f32, [rows, cols]), .normal(mean: float(), std: 0.02))
        try b.addParam("h", square, rng.chance(50) ? .heNormal : .heUniform)
        try b.addParam("g", vector, rng.chance(50) ? .glorotNormal : .glorotUniform)
        try b.addParam("counter", TensorType(.f32, .scalar), .zeros, role: .state)
        try b.addParam("moment", vector, .zeros, role: .state)
        pool = ["x", "noise"]
    }

    /// A value that broadcasts against `a`: itself, a scalar literal, a keep_dims reduction of
    /// it (size-1 axes), a vector param over its last axis, or the one-element `shift`.
    mutating func partner(for a: String) throws -> String {
        let t = type(a)
        switch rng.next(5) {
        case 0: return a
        case 1: return try b.add(.constant, [], [("value", .float(float()))])
        case 2 where t.rank > 0:
            return try b.add(.reduce_max, [a], [("axes", .ints([-1 - rng.next(t.rank)])), ("keep_dims", .bool(true))])
        case 3 where t.rank > 0 && t.shape.dims.last == cols: return rng.pick(["bias", "scale", "moment"])
        default: return "shift"
        }
    }

    mutating func step() throws {
        let a = rng.pick(pool)
        let t = type(a)
        let small = t.elementCount <= 256
        switch rng.next(13) {
        case 0:
            try add(rng.pick([.neg, .exp, .log, .sqrt, .rsqrt, .square, .abs, .sign, .tanh, .sigmoid, .relu, .log1p, .expm1, .erf]), [a])
        case 1:
            switch rng.next(6) {
            case 0: try add(.leaky_relu, [a], [("alpha", .float(rng.pick([0.01, 0.25, 2e-3])))])
            case 1: try add(.elu, [a], rng.chance(50) ? [("alpha", .float(0.5))] : [])
            case 2: try add(.softplus, [a])
            case 3: try add(.stop_gradient, [a])
            case 4: try add(.bernoulli, [try b.add(.sigmoid, [a])], [("seed", .int(rng.next(100)))])
            default: try add(.dropout, [a], [("rate", .float(rng.pick([0, 0.25, 0.5]))), ("seed", .int(rng.next(100)))])
            }
        case 2:
            try add(rng.pick([.add, .sub, .mul, .div, .max, .min, .pow]), [a, try partner(for: a)])
        case 3:
            let condition = try b.add(rng.pick([.equal, .not_equal, .less, .less_equal, .greater, .greater_equal]), [a, try partner(for: a)])
            try add(.select, [condition, a, try partner(for: a)])
            if rng.chance(30) {
                // The evaluation side must broadcast to the training side.
                let p = try partner(for: a)
                let fits = (try? broadcastShapes(t.shape, type(p).shape, t, type(p))) == t.shape
                try add(.if_training, [a, fits ? p : a])
            }
        case 4: try matmul(a, t)
        case 5 where small: try layout(a, t)
        case 6: try reduction(a, t)
        case 7 where t.rank == 2: try convolution(a, t)
        case 8 where t.rank > 0:
            let indices = try b.add(.argmax, [a], [("axis", .int(-1 - rng.next(t.rank)))])
            let compared = try b.add(.greater_equal, [indices, indices])
            try add(.cast, [try b.add(.neg, [compared])], [("dtype", .dtype(.f32))])
            if small { try add(.one_hot, [indices], [("depth", .int(1 + rng.next(4)))]) }
        case 9:
            let rowsOfW = try add(.gather, [rng.pick(["w", "u", "h"]), "idx"])
            try add(.gather_grad, [rowsOfW, "idx"], [("rows", .int(cols))])
        case 10: try loss(a, t)
        case 11:
            try add(.constant, [], [("value", .float(float())), ("shape", .ints(t.shape.dims))])
            _ = try b.add(.constant, [], [("value", .float(3)), ("shape", .ints([2])), ("dtype", .dtype(.i32))])
            let noise = try b.add(.random_normal, [], [("shape", .ints(t.shape.dims)), ("mean", .float(float())),
                                                      ("std", .float(0.5)), ("seed", .int(rng.next(1000)))])
            try add(.add, [a, noise])
            let uniform = try b.add(.random_uniform, [], [("shape", .ints(t.shape.dims)), ("low", .float(-0.5)),
                                                          ("high", .float(rng.pick([0.5, 2.0]))), ("seed", .int(rng.next(1000)))])
            try add(.mul, [a, uniform])
            if t.rank > 0 {
                let positions = try b.add(.iota, [], [("shape", .ints(t.shape.dims)), ("axis", .int(-1 - rng.next(t.rank))),
                                                      ("dtype", .dtype(rng.pick([.f32, .i32])))])
                try add(.add, [a, type(positions).dtype == .f32 ? positions : try b.add(.cast, [positions], [("dtype", .dtype(.f32))])])
            }
        default: try fused(a)
        }
    }

    mutating func matmul(_ a: String, _ t: TensorType) throws {
        guard t.rank == 2 || t.rank == 3 else { return }
        if t.rank == 3, rng.chance(30) {
            // Rank 4 against rank 3: batch axes [1, B] and [B] broadcast to [1, B].
            let lifted = try b.add(.reshape, [a], [("shape", .ints([1] + t.shape.dims))])
            try add(.matmul, [lifted, a], [("transpose_b", .bool(true))])
            return
        }
        if t.rank == 2, t.shape[1] == cols, rng.chance(50) {
            try add(.matmul, [a, rng.pick(["w", "u", "h"])])
        } else if rng.chance(50) {
            try add(.matmul, [a, a], [("transpose_b", .bool(true))])
        } else {
            try add(.matmul, [a, a], [("transpose_a", .bool(true))])
        }
    }

    mutating func layout(_ a: String, _ t: TensorType) throws {
        let dims = t.shape.dims
        switch rng.next(6) {
        case 0:
            var perm = Array(0..<t.rank)
            for i in stride(from: perm.count - 1, to: 0, by: -1) { perm.swapAt(i, rng.next(i + 1)) }
            try add(.transpose, [a], [("perm", .ints(perm))])
        case 1:
            try add(.reshape, [a], [("shape", .ints(rng.chance(50) ? [-1] : [1, -1]))])
        case 2: try add(.broadcast_to, [a], [("shape", .ints([2] + dims))])
        case 3 where t.rank > 0:
            let axis = rng.next(t.rank)
            try add(.concat, rng.chance(50) ? [a, a] : [a, a, a], [("axis", .int(rng.chance(50) ? axis : axis - t.rank))])
        case 4:
            let begin = dims.map { rng.next($0) }
            let end = zip(begin, dims).map { lo, n in lo + 1 + rng.next(n - lo) }
            try add(.slice, [a], [("begin", .ints(begin)), ("end", .ints(end))])
        default:
            try add(.pad, [a], [("before", .ints(dims.map { _ in rng.next(3) })), ("after", .ints(dims.map { _ in rng.next(2) }))])
        }
    }

    mutating func reduction(_ a: String, _ t: TensorType) throws {
        guard t.rank > 0 else { return }
        if rng.chance(30) {
            try add(rng.pick([.softmax, .log_softmax]), [a], rng.chance(50) ? [("axis", .int(-1 - rng.next(t.rank)))] : [])
            return
        }
        let axes = (0..<t.rank).filter { _ in rng.chance(50) }.map { rng.chance(50) ? $0 : $0 - t.rank }
        try add(rng.pick([.reduce_sum, .reduce_mean, .reduce_max]), [a], [("axes", .ints(axes)), ("keep_dims", .bool(rng.chance(50)))])
    }

    /// reshape to NCHW, convolve with a fresh filter param, pool, the gradient helpers, and back to rank 2.
    mutating func convolution(_ a: String, _ t: TensorType) throws {
        let (m, n) = (t.shape[0], t.shape[1])
        let padding = [rng.next(2), rng.next(2)], stride = [1 + rng.next(2), 1 + rng.next(2)]
        let kh = 1 + rng.next(Swift.min(3, m + 2 * padding[0])), kw = 1 + rng.next(Swift.min(3, n + 2 * padding[1]))
        let filter = b.freeName("k")
        try b.addParam(filter, TensorType(.f32, [2, 1, kh, kw]), .heNormal)
        let image = try add(.reshape, [a], [("shape", .ints([1, 1, m, n]))], keep: false)
        let conv: [(String, AttrValue)] = [("stride", .ints(stride)), ("padding", .ints(padding))]
        let y = try add(.conv2d, [image, filter], conv, keep: false)
        let yt = type(y)
        let window = [1 + rng.next(yt.shape[2]), 1 + rng.next(yt.shape[3])]
        let pooling: [(String, AttrValue)] = [("window", .ints(window))] + (rng.chance(50) ? [("stride", .ints([1, 1]))] : [])
        let pooled = try add(rng.pick([.max_pool2d, .avg_pool2d]), [y], pooling, keep: false)
        try add(.conv2d_grad_input, [y, filter], [("shape", .ints([1, 1, m, n]))] + conv, keep: false)
        try add(.conv2d_grad_filter, [image, y], [("shape", .ints([2, 1, kh, kw]))] + conv, keep: false)
        try add(.max_pool2d_grad, [y, pooled], pooling, keep: false)
        try add(.avg_pool2d_grad, [pooled], [("shape", .ints(yt.shape.dims))] + pooling, keep: false)
        try add(.reshape, [pooled], [("shape", .ints([-1, type(pooled).shape[3]]))])
    }

    mutating func loss(_ a: String, _ t: TensorType) throws {
        let probability = try b.add(.sigmoid, [a])
        switch rng.next(4) {
        case 0: try add(.mse, [a, probability])
        case 1: try add(.binary_cross_entropy, [probability, try b.add(.square, [probability])])
        case 2: try add(.sigmoid_cross_entropy, [a, probability])
        default:
            guard t.rank == 2, t.shape[0] == rows else { return }
            let loss = try add(.softmax_cross_entropy, [a, "labels"])
            try add(.softmax_cross_entropy_grad, [a, "labels", loss])
        }
    }

    /// A fused kernel `a ⊕ p → relu → (· a)` writing out its last value and sometimes its first.
    mutating func fused(_ a: String) throws {
        let p = try partner(for: a)
        let operands = p == a ? [a] : [a, p]
        let (sum, act, product) = (b.freeName("f_sum"), b.freeName("f_act"), b.freeName("f_prod"))
        let body = [
            Node(name: sum, op: .add, operands: [a, p]),
            Node(name: act, op: .relu, operands: [sum]),
            Node(name: product, op: .mul, operands: [act, a]),
        ]
        var kernel = Node(name: product, op: .fused, operands: operands, region: body, extraResults: rng.chance(50) ? [sum] : [])
        var types: [String: TensorType] = [:]
        for operand in operands { types[operand] = type(operand) }
        try inferFusedTypes(&kernel, types: types)
        try b.append(kernel)
        pool.append(contentsOf: kernel.resultNames)
    }

    mutating func finish() throws {
        let last = pool[pool.count - 1]
        var outputs = [last]
        for _ in 0..<rng.next(3) {
            let extra = rng.pick(pool)
            if !outputs.contains(extra) { outputs.append(extra) }
        }
        for output in outputs { try b.addOutput(output) }
        let one = try b.add(.constant, [], [("value", .float(1))])
        try b.addUpdate("counter", try b.add(.add, ["counter", one], name: "next_counter"))
        if rng.chance(50) {
            let decayed = try b.add(.mul, ["moment", try b.add(.constant, [], [("value", .float(0.9))])])
            try b.addUpdate("moment", try b.add(.add, [decayed, "bias"], name: b.freeName("next_moment")))
        }
    }
}
