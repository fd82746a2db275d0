import KilnCheck
import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// Finite-difference checks of every differentiable op, by the project's one checker
/// (`KilnCheck.GradientCheck`, on the interpreter). Each case's graph declares params and a value
/// `y`; `GradientCheck.weightedSum` appends `loss = Σ y·r` (r fixed, random), and every element of
/// every param is checked: relative error at most 1e-2, absolute below a gradient of 0.1.
struct GradientCheckTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let declarations: String
        let body: String
        var inputs: [String: Tensor] = [:]
        /// Param values replacing the initialiser (for ops with kinks, values apart by more than h).
        var overrides: [String: Tensor] = [:]
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        let p = "param a: f32[3, 4] = uniform(-1.0, 1.0)\n param b: f32[4] = uniform(-1.0, 1.0)"
        let pos = "param a: f32[3, 4] = uniform(0.5, 1.5)\n param b: f32[4] = uniform(0.5, 1.5)"
        var c: [Case] = []
        for op in ["add", "sub", "mul", "max", "min"] { c.append(Case(name: op, declarations: p, body: "y = \(op)(a, b)")) }
        c.append(Case(name: "div", declarations: pos, body: "y = div(a, b)"))
        c.append(Case(name: "pow", declarations: pos, body: "y = pow(a, b)"))
        for op in ["neg", "exp", "square", "tanh", "sigmoid", "abs", "relu"] {
            c.append(Case(name: op, declarations: p, body: "y = \(op)(a)"))
        }
        for op in ["log", "sqrt", "rsqrt"] { c.append(Case(name: op, declarations: pos, body: "y = \(op)(a)")) }
        c.append(Case(name: "leaky_relu", declarations: p, body: "y = leaky_relu(a, alpha=0.2)"))
        c.append(Case(name: "elu", declarations: p, body: "y = elu(a, alpha=0.7)"))
        c.append(Case(name: "select", declarations: p, body: "y = select(greater(a, 0.0), a, mul(b, 3.0))"))
        c.append(Case(name: "cast f32", declarations: p, body: "y = cast(a, dtype=f32)"))
        c.append(Case(name: "dropout", declarations: p, body: "y = dropout(a, rate=0.3, seed=5)"))
        c.append(Case(name: "multi-use and broadcast", declarations: p, body: "t = mul(a, b)\n y = add(t, mul(t, b))"))
        c.append(Case(name: "broadcast_to", declarations: "param a: f32[4, 1] = uniform(-1.0, 1.0)", body: "y = broadcast_to(a, shape=[2, 4, 3])"))
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = ta ? "[4, 3]" : "[3, 4]", b = tb ? "[5, 4]" : "[4, 5]"
            c.append(Case(name: "matmul ta=\(ta) tb=\(tb)",
                          declarations: "param a: f32\(a) = uniform(-1.0, 1.0)\n param b: f32\(b) = uniform(-1.0, 1.0)",
                          body: "y = matmul(a, b, transpose_a=\(ta), transpose_b=\(tb))"))
        }
        c.append(Case(name: "batched matmul", declarations: "param a: f32[2, 3, 4] = uniform(-1.0, 1.0)\n param b: f32[2, 4, 2] = uniform(-1.0, 1.0)", body: "y = matmul(a, b)"))
        c.append(Case(name: "matmul 3-D × 2-D", declarations: "param a: f32[2, 3, 4] = uniform(-1.0, 1.0)\n param b: f32[4, 2] = uniform(-1.0, 1.0)", body: "y = matmul(a, b)"))
        c.append(Case(name: "matmul 2-D × 3-D", declarations: "param a: f32[3, 4] = uniform(-1.0, 1.0)\n param b: f32[2, 4, 2] = uniform(-1.0, 1.0)", body: "y = matmul(a, b)"))
        c.append(Case(name: "matmul 4-D × 3-D broadcast", declarations: "param a: f32[2, 1, 3, 4] = uniform(-1.0, 1.0)\n param b: f32[3, 4, 2] = uniform(-1.0, 1.0)", body: "y = matmul(a, b)"))
        c.append(Case(name: "matmul 2-D × 4-D, both transposed", declarations: "param a: f32[4, 3] = uniform(-1.0, 1.0)\n param b: f32[2, 2, 5, 4] = uniform(-1.0, 1.0)", body: "y = matmul(a, b, transpose_a=true, transpose_b=true)"))
        c.append(Case(name: "matmul 4-D × 2-D", declarations: "param a: f32[2, 2, 3, 4] = uniform(-1.0, 1.0)\n param b: f32[4, 2] = uniform(-1.0, 1.0)", body: "y = matmul(a, b)"))
        c.append(Case(name: "if_training", declarations: p, body: "y = if_training(mul(a, b), b)"))
        c.append(Case(name: "softplus", declarations: p, body: "y = softplus(mul(a, 8.0))"))
        c.append(Case(name: "log1p", declarations: p, body: "y = log1p(mul(a, 0.9))"))
        c.append(Case(name: "expm1", declarations: p, body: "y = expm1(mul(a, 3.0))"))
        c.append(Case(name: "erf", declarations: p, body: "y = erf(mul(a, 2.0))"))
        c.append(Case(name: "iota and random sources", declarations: p,
                      body: "y = add(mul(a, iota(shape=[3, 4], axis=1, dtype=f32)), mul(a, random_uniform(shape=[3, 4], seed=2)))"))
        c.append(Case(name: "bernoulli of a constant", declarations: p, body: "y = mul(a, bernoulli(constant(value=0.5, shape=[3, 4]), seed=4))"))
        c.append(Case(name: "conv2d", declarations: "param x: f32[2, 2, 6, 5] = uniform(-1.0, 1.0)\n param w: f32[3, 2, 3, 3] = uniform(-1.0, 1.0)",
                      body: "y = conv2d(x, w, stride=[2, 1], padding=[1, 1])"))
        c.append(Case(name: "conv2d depthwise (multiplier 2, stride 2)", declarations: "param x: f32[2, 3, 7, 6] = uniform(-1.0, 1.0)\n param w: f32[6, 1, 3, 3] = uniform(-1.0, 1.0)",
                      body: "y = conv2d(x, w, stride=[2, 2], padding=[1, 1], groups=3)"))
        c.append(Case(name: "conv2d grouped", declarations: "param x: f32[1, 4, 5, 6] = uniform(-1.0, 1.0)\n param w: f32[6, 2, 2, 3] = uniform(-1.0, 1.0)",
                      body: "y = conv2d(x, w, stride=[1, 2], padding=[0, 1], groups=2)"))
        let distinct = Tensor([1, 2, 5, 5], floats: (0..<50).map { Float(($0 * 37) % 50) * 0.04 - 1 })
        c.append(Case(name: "max_pool2d", declarations: "param x: f32[1, 2, 5, 5] = zeros",
                      body: "y = max_pool2d(x, window=[2, 2], stride=[2, 2], padding=[1, 1])", overrides: ["x": distinct]))
        c.append(Case(name: "reduce_max (distinct values)", declarations: "param x: f32[1, 2, 5, 5] = zeros",
                      body: "y = reduce_max(x, axes=[2, 3])", overrides: ["x": distinct]))
        // Ties share the gradient: d_p = 1, not 4 (one share per broadcast copy).
        c.append(Case(name: "reduce_max (ties)", declarations: "param p: f32[1] = constant(0.3)",
                      body: "y = reduce_max(broadcast_to(p, shape=[4]), axes=[0])"))
        c.append(Case(name: "reduce_max (ties per row)", declarations: "param p: f32[2, 1] = uniform(-1.0, 1.0)",
                      body: "y = reduce_max(broadcast_to(p, shape=[2, 3]), axes=[1], keep_dims=true)"))
        c.append(Case(name: "avg_pool2d", declarations: "param x: f32[1, 2, 5, 5] = uniform(-1.0, 1.0)", body: "y = avg_pool2d(x, window=[3, 3], stride=[2, 2], padding=[1, 1])"))
        c.append(Case(name: "transpose", declarations: "param a: f32[2, 3, 4] = uniform(-1.0, 1.0)", body: "y = transpose(a, perm=[2, 0, 1])"))
        c.append(Case(name: "reshape", declarations: p, body: "y = reshape(a, shape=[6, 2])"))
        c.append(Case(name: "concat", declarations: "param a: f32[2, 3] = uniform(-1.0, 1.0)\n param b: f32[2, 2] = uniform(-1.0, 1.0)", body: "y = concat(a, b, a, axis=1)"))
        c.append(Case(name: "slice", declarations: p, body: "y = slice(a, begin=[1, 1], end=[3, 3])"))
        c.append(Case(name: "pad", declarations: p, body: "y = pad(a, before=[1, 0], after=[0, 2])"))
        c.append(Case(name: "gather", declarations: "param t: f32[5, 3] = uniform(-1.0, 1.0)\n input i: i32[4]", body: "y = gather(t, i)",
                      inputs: ["i": Tensor([4], ints: [0, 3, 3, 1])]))
        c.append(Case(name: "reduce_sum", declarations: p, body: "y = reduce_sum(a, axes=[0])"))
        c.append(Case(name: "reduce_mean", declarations: p, body: "y = reduce_mean(a, axes=[1], keep_dims=true)"))
        c.append(Case(name: "reduce_max", declarations: p, body: "y = reduce_max(a, axes=[1])"))
        c.append(Case(name: "softmax", declarations: p, body: "y = softmax(a, axis=1)"))
        c.append(Case(name: "log_softmax", declarations: p, body: "y = log_softmax(a, axis=0)"))
        c.append(Case(name: "softmax_cross_entropy", declarations: p + "\n input t: i32[3]", body: "y = softmax_cross_entropy(a, t)",
                      inputs: ["t": Tensor([3], ints: [2, 0, 3])]))
        c.append(Case(name: "mse", declarations: p + "\n param c: f32[3, 4] = uniform(-1.0, 1.0)", body: "y = mse(a, c)"))
        c.append(Case(name: "binary_cross_entropy", declarations: "param a: f32[3, 4] = uniform(0.1, 0.9)\n param c: f32[3, 4] = uniform(0.0, 1.0)", body: "y = binary_cross_entropy(a, c)"))
        c.append(Case(name: "sigmoid_cross_entropy", declarations: p + "\n param c: f32[3, 4] = uniform(0.0, 1.0)", body: "y = sigmoid_cross_entropy(a, c)"))
        return c
    }()

    @Test("symbolic gradients match central differences", arguments: cases)
    func gradient(_ testCase: Case) throws {
        let graph = try Parser.parse("graph g {\n \(testCase.declarations)\n \(testCase.body)\n output y\n}")
        let (forward, r) = try GradientCheck.weightedSum(of: "y", in: graph, seed: KilnRandom.hash(testCase.name))
        let inputs = testCase.inputs.merging(["r": r]) { $1 }
        let state = initialState(for: forward, seed: 3).merging(testCase.overrides) { $1 }
        // Every element of every param; |fd − ad| within 1e-2 relative, 1e-3 absolute below 0.1.
        let results = try GradientCheck(loss: "loss", samples: .max, floor: 0.1).run(forward, inputs: inputs, state: state, step: 1)
        // Every param must get a gradient: an empty or short list would check nothing.
        #expect(Set(results.map(\.param)) == Set(forward.trainableParams.map(\.name)), "\(testCase.name): a param has no gradient")
        #expect(!results.isEmpty && results.allSatisfy { $0.checked == $0.elements && $0.checked > 0 })
        for result in results {
            #expect(result.relativeError <= 1e-2, "\(testCase.name): \(result.summary)")
        }
    }

    @Test("the case list covers the differentiable ops")
    func caseListIsNotEmpty() {
        #expect(Self.cases.count >= 50)
    }

    @Test("a non-differentiable op on the path names itself")
    func nonDifferentiable() throws {
        let graph = try inferTypes(try Parser.parse("graph g {\n param a: f32[3, 4] = zeros\n k = argmax(a, axis=1)\n y = cast(k, dtype=f32)\n loss = reduce_sum(y, axes=[0])\n output loss\n}"))
        #expect(throws: Diagnostic.self) { try Differentiation(loss: "loss").run(graph) }
        do { _ = try Differentiation(loss: "loss").run(graph) } catch let d as Diagnostic {
            #expect(d.message.contains("cast") || d.message.contains("argmax"))
        }
    }

    @Test("a loss that is not a scalar is refused")
    func nonScalarLoss() throws {
        let graph = try inferTypes(try Parser.parse("graph g {\n param a: f32[3] = zeros\n y = exp(a)\n output y\n}"))
        do {
            _ = try Differentiation(loss: "y").run(graph)
            Issue.record("expected an error")
        } catch let d as Diagnostic {
            #expect(d.message == "loss 'y' must be a scalar f32, it is f32[3]")
        }
    }
}
