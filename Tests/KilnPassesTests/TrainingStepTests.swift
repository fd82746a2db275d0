import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// Runs a training-step graph `steps` times from `state`, feeding `inputs` and the rate.
func train(_ step: Graph, _ inputs: [String: Tensor], state: inout [String: Tensor], lr: Float, steps: Int) throws -> Float {
    let interpreter = try Interpreter(graph: step)
    var feeds = inputs
    feeds["lr"] = Tensor.scalar(lr)
    var loss: Float = 0
    for i in 0..<steps {
        loss = try #require(try interpreter.run(inputs: feeds, state: &state, step: i)["loss"]).floats[0]
    }
    return loss
}

struct TrainingStepTests {
    /// Worked example 3: 2-2-1 linear network, Error = ½(prediction − actual)², lr 0.05.
    @Test("one backprop step on the 2-2-1 network reproduces the course's numbers")
    func backprop221() throws {
        let forward = try inferTypes(try Parser.parse("""
            graph backprop {
              input i: f32[1, 2]
              input actual: f32[1, 1]
              param wh: f32[2, 2] = zeros
              param wo: f32[2, 1] = zeros
              prediction = matmul(matmul(i, wh), wo)
              loss = mul(0.5, reduce_sum(square(sub(prediction, actual)), axes=[0, 1]))
              output loss
              output prediction
            }
            """))
        // h1 = i1·w1 + i2·w2, h2 = i1·w3 + i2·w4: wh = [[w1, w3], [w2, w4]].
        var state = ["wh": Tensor([2, 2], floats: [0.11, 0.12, 0.21, 0.08]), "wo": Tensor([2, 1], floats: [0.14, 0.15])]
        let inputs = ["i": Tensor([1, 2], floats: [2, 3]), "actual": Tensor([1, 1], floats: [1])]
        var probe = state
        let prediction = try #require(try Interpreter(graph: forward).run(inputs: inputs, state: &probe, step: 0)["prediction"]).floats[0]
        #expect(Swift.abs(prediction - 0.191) < 5e-4)

        let step = try TrainingStep(loss: "loss", optimizer: Optimizer(.sgd, learningRate: 0.05)).run(forward)
        _ = try train(step, inputs, state: &state, lr: 0.05, steps: 1)
        let wh = try #require(state["wh"]).floats, wo = try #require(state["wo"]).floats
        func rounded(_ v: Float) -> Float { (v * 100).rounded() / 100 }
        // The slide's numbers, rounded to two places: w5 ≈ 0.17, w6 ≈ 0.17, w1 ≈ 0.12, w2 ≈ 0.23, w3 ≈ 0.13, w4 ≈ 0.10.
        #expect([rounded(wo[0]), rounded(wo[1])] == [0.17, 0.17])
        #expect([rounded(wh[0]), rounded(wh[2]), rounded(wh[1]), rounded(wh[3])] == [0.12, 0.23, 0.13, 0.10])
        // Exact values: δ = prediction − 1 = −0.809; w5 −= 0.05·δ·h1 with h1 = 0.85, h2 = 0.48.
        let delta = Double(prediction) - 1
        #expect(Swift.abs(Double(wo[0]) - (0.14 - 0.05 * delta * 0.85)) < 1e-6)
        #expect(Swift.abs(Double(wo[1]) - (0.15 - 0.05 * delta * 0.48)) < 1e-6)
        #expect(Swift.abs(Double(wh[0]) - (0.11 - 0.05 * delta * 0.14 * 2)) < 1e-6)
        #expect(Swift.abs(Double(wh[2]) - (0.21 - 0.05 * delta * 0.14 * 3)) < 1e-6)
        #expect(Swift.abs(Double(wh[1]) - (0.12 - 0.05 * delta * 0.15 * 2)) < 1e-6)
        #expect(Swift.abs(Double(wh[3]) - (0.08 - 0.05 * delta * 0.15 * 3)) < 1e-6)
    }

    @Test("Celsius → Fahrenheit converges to w ≈ 1.8, b ≈ 32")
    func celsius() throws {
        let forward = try inferTypes(try Parser.parse(try String(contentsOf: TestGraphs.root.appendingPathComponent("Graphs/linear_regression.kiln"), encoding: .utf8)))
        let step = try Simplify().run(try TrainingStep(loss: "loss", optimizer: Optimizer(.adam, learningRate: 0.5)).run(forward))
        var state = initialState(for: step, seed: 0)
        let inputs = ["celsius": Tensor([4, 1], floats: [0, 8, 15, 22]), "fahrenheit": Tensor([4, 1], floats: [32, 46.4, 59, 71.6])]
        _ = try train(step, inputs, state: &state, lr: 0.5, steps: 3000)
        let w = try #require(state["w"]).floats[0], b = try #require(state["b"]).floats[0]
        #expect(Swift.abs(w - 1.8) < 1e-2, "w = \(w)")
        #expect(Swift.abs(b - 32) < 1e-2, "b = \(b)")
    }

    @Test("XOR: a single perceptron cannot fit it, the 2-layer MLP reaches 100%")
    func xor() throws {
        let inputs = ["x": Tensor([4, 2], floats: [0, 0, 0, 1, 1, 0, 1, 1]), "y": Tensor([4, 1], floats: [0, 1, 1, 0])]
        func accuracy(_ graph: Graph, _ state: [String: Tensor]) throws -> Int {
            var s = state
            let prob = try #require(try Interpreter(graph: graph).run(inputs: inputs.merging(["lr": Tensor.scalar(0)]) { $1 }, state: &s, step: 0)["prob"]).floats
            return zip(prob, [0, 1, 1, 0] as [Float]).filter { ($0 > 0.5 ? 1 : 0) == $1 }.count
        }
        let mlp = try inferTypes(try Parser.parse(try String(contentsOf: TestGraphs.root.appendingPathComponent("Graphs/xor_mlp.kiln"), encoding: .utf8)))
        let mlpStep = try TrainingStep(loss: "loss", optimizer: Optimizer(.adam, learningRate: 0.1)).run(mlp)
        var state = initialState(for: mlpStep, seed: 1)
        let loss = try train(mlpStep, inputs, state: &state, lr: 0.1, steps: 500)
        #expect(try accuracy(mlp, state) == 4, "loss \(loss)")

        let perceptron = try inferTypes(try Parser.parse("""
            graph xor_perceptron {
              input x: f32[4, 2]
              input y: f32[4, 1]
              param w: f32[2, 1] = zeros
              param b: f32[1] = zeros
              logits = add(matmul(x, w), b)
              prob = sigmoid(logits)
              loss = sigmoid_cross_entropy(logits, y)
              output loss
              output prob
            }
            """))
        let perceptronStep = try TrainingStep(loss: "loss", optimizer: Optimizer(.adam, learningRate: 0.1)).run(perceptron)
        var pState = initialState(for: perceptronStep, seed: 1)
        _ = try train(perceptronStep, inputs, state: &pState, lr: 0.1, steps: 500)
        #expect(try accuracy(perceptron, pState) < 4)
    }

    /// f(w) = ½w² summed, so the gradient is w itself: updates are easy to follow by hand.
    static let quadratic = "graph q {\n param w: f32[2] = constant(1.0)\n loss = mul(0.5, reduce_sum(square(w), axes=[0]))\n output loss\n}"

    @Test("each optimiser's first three updates match hand computation", arguments: Optimizer.Kind.allCases)
    func optimisers(_ kind: Optimizer.Kind) throws {
        let forward = try inferTypes(try Parser.parse(Self.quadratic))
        let o = Optimizer(kind, learningRate: 0.1, beta1: 0.9, weightDecay: 0.01)
        let step = try TrainingStep(loss: "loss", optimizer: o).run(forward)
        var state = initialState(for: step, seed: 0)
        var w = 1.0, v = 0.0, s = 0.0, m = 0.0, vv = 0.0, accumulated = 0.1
        for t in 1...3 {
            _ = try train(step, [:], state: &state, lr: 0.1, steps: 1)
            let g = w + 0.01 * w
            switch kind {
            case .sgd: w -= 0.1 * g
            case .momentum: v = 0.9 * v + g; w -= 0.1 * v
            case .nesterov: v = 0.9 * v + g; w -= 0.1 * (g + 0.9 * v)
            case .rmsprop: s = 0.9 * s + 0.1 * g * g; w -= 0.1 * g / (s.squareRoot() + 1e-7)
            case .adagrad: accumulated += g * g; w -= 0.1 * g / (accumulated.squareRoot() + 1e-7)
            case .adam:
                m = 0.9 * m + 0.1 * g; vv = 0.999 * vv + 0.001 * g * g
                let mHat = m / (1 - pow(0.9, Double(t))), vHat = vv / (1 - pow(0.999, Double(t)))
                w -= 0.1 * mHat / (vHat.squareRoot() + 1e-8)
            }
            let got = try #require(state["w"]).floats
            #expect(Swift.abs(Double(got[0]) - w) < 1e-5 && Swift.abs(Double(got[1]) - w) < 1e-5, "\(kind) step \(t): \(got[0]) vs \(w)")
        }
    }

    @Test("optimizer specs parse, and bad ones are explained")
    func specs() throws {
        let o = try Optimizer.parse("adam:lr=0.002,beta1=0.8,weight_decay=1e-4")
        #expect(o.kind == .adam && o.learningRate == 0.002 && o.beta1 == 0.8 && o.weightDecay == 1e-4)
        #expect(throws: Diagnostic.self) { try Optimizer.parse("adamw") }
        #expect(throws: Diagnostic.self) { try Optimizer.parse("sgd:lr=fast") }
        #expect(throws: Diagnostic.self) { try Optimizer.parse("sgd:speed=1") }
    }
}

import Foundation
