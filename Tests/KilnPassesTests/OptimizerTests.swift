import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// Optimiser specs and the updates they emit, checked against hand-computed first steps.
struct OptimizerTests {
    /// loss = Σ w·c: the gradient is c, whatever w is, so each update can be written by hand.
    static let linear = "graph g {\n param w: f32[3] = zeros\n input c: f32[3]\n loss = reduce_sum(mul(w, c), axes=[0])\n output loss\n}"
    static let c: [Float] = [0.5, -2, 0]

    static func run(_ spec: String, from w: [Float], steps: Int, lr: Float) throws -> [Float] {
        let step = try TrainingStep(loss: "loss", optimizer: try Optimizer.parse(spec)).run(try inferTypes(try Parser.parse(Self.linear)))
        var state = initialState(for: step, seed: 0)
        state["w"] = Tensor([3], floats: w)
        _ = try train(step, ["c": Tensor([3], floats: Self.c)], state: &state, lr: lr, steps: steps)
        return try #require(state["w"]).floats
    }

    @Test("adagrad's first two updates, by hand: s ← s + g², w ← w − lr·g/(√s + ε), s₀ = 0.1")
    func adagrad() throws {
        let w0: [Float] = [1, -1, 0.25]
        for steps in 1...2 {
            let w = try Self.run("adagrad:lr=0.5,eps=1e-7", from: w0, steps: steps, lr: 0.5)
            for i in 0..<3 {
                var expected = Double(w0[i]), s = 0.1
                let g = Double(Self.c[i])
                for _ in 0..<steps {
                    s += g * g
                    expected -= 0.5 * g / (s.squareRoot() + 1e-7)
                }
                #expect(Swift.abs(Double(w[i]) - expected) <= 1e-6, "step \(steps), w[\(i)]: \(w[i]) vs \(expected)")
            }
        }
        // The first step of w[0]: 1 − 0.5·0.5/√0.35 = 0.577 4…
        #expect(Swift.abs(try Self.run("adagrad:lr=0.5", from: w0, steps: 1, lr: 0.5)[0] - 0.577_4) < 1e-4)
    }

    @Test("adagrad's accumulator starts at initial_accumulator")
    func adagradAccumulator() throws {
        let w = try Self.run("adagrad:lr=1,initial_accumulator=0,eps=1e-7", from: [0, 0, 0], steps: 1, lr: 1)
        // s = g², so the first step is lr·sign(g): −1 and +1, and 0 where g = 0.
        #expect(Swift.abs(w[0] + 1) < 1e-5 && Swift.abs(w[1] - 1) < 1e-5 && w[2] == 0)
    }

    @Test("l1 adds l1·sign(w) to the gradient, next to weight_decay's λ·w")
    func l1() throws {
        let w0: [Float] = [1, -1, 0.25]
        let w = try Self.run("sgd:lr=0.1,l1=0.2,weight_decay=0.3", from: w0, steps: 1, lr: 0.1)
        for i in 0..<3 {
            let sign: Float = w0[i] > 0 ? 1 : (w0[i] < 0 ? -1 : 0)
            let expected = w0[i] - 0.1 * (Self.c[i] + 0.2 * sign + 0.3 * w0[i])
            #expect(Swift.abs(w[i] - expected) <= 1e-6, "w[\(i)]")
        }
    }

    @Test("sgd:lr=0 is accepted and leaves the params bit-identical")
    func zeroLearningRate() throws {
        let w0: [Float] = [1, -1, 0.25]
        #expect(try Optimizer.parse("sgd:lr=0").learningRate == 0)
        #expect(try Self.run("sgd:lr=0", from: w0, steps: 3, lr: 0).map(\.bitPattern) == w0.map(\.bitPattern))
    }

    @Test("bad options name the option and the accepted range", arguments: [
        ("adagrad:l1=-1", "optimizer option l1=-1 is out of range: expected a finite number >= 0"),
        ("adagrad:initial_accumulator=nan", "optimizer option initial_accumulator=nan is out of range: expected a finite number >= 0"),
        ("adagrad:momentum=0.9", "adagrad has no option 'momentum' (it takes lr, eps, epsilon, initial_accumulator, weight_decay, wd, l1)"),
        ("sgd:lr=-0.1", "optimizer option lr=-0.1 is out of range: expected a finite number >= 0"),
    ])
    func badOptions(_ spec: String, _ message: String) throws {
        do {
            _ = try Optimizer.parse(spec)
            Issue.record("expected an error for \(spec)")
        } catch let d as Diagnostic {
            #expect(d.message == message)
        }
    }

    @Test("adagrad and l1 print back as specs that parse to the same optimizer")
    func description() throws {
        let o = try Optimizer.parse("adagrad:lr=0.05,l1=0.001")
        #expect(o.description == "adagrad:lr=0.05,eps=1e-07,initial_accumulator=0.1,l1=0.001")
        #expect(try Optimizer.parse(o.description) == o)
    }
}
