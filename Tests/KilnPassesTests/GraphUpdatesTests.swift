import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// A graph's own `update` statements next to the optimiser's (TrainingStep), and what
/// `eval-mode` makes of them and of `if_training`.
struct GraphUpdatesTests {
    /// Batch norm over the features of x (rows are examples), then a linear classifier.
    static let batchNorm = """
        graph bn {
          input x: f32[8, 3]
          input labels: i32[8]
          param gamma: f32[3] = ones
          param beta: f32[3] = zeros
          param w: f32[3, 4] = glorot_uniform
          state running_mean: f32[1, 3] = zeros
          state running_var: f32[1, 3] = ones
          mean = reduce_mean(x, axes=[0], keep_dims=true)
          var = reduce_mean(square(sub(x, mean)), axes=[0], keep_dims=true)
          m = if_training(mean, running_mean)
          v = if_training(var, running_var)
          h = add(mul(mul(sub(x, m), rsqrt(add(v, 0.00001))), gamma), beta)
          logits = matmul(h, w)
          loss = softmax_cross_entropy(logits, labels)
          output loss
          output logits
          next_mean = add(mul(running_mean, 0.9), mul(mean, 0.1))
          next_var = add(mul(running_var, 0.9), mul(var, 0.1))
          update running_mean = next_mean
          update running_var = next_var
        }
        """

    static func batch(_ step: Int) -> Tensor {
        Tensor([8, 3], floats: (0..<24).map { 3 * KilnRandom.uniform(seed: 17, step: UInt64(step), index: UInt64($0)) + Float($0 % 3) - 1 })
    }

    @Test("a training step keeps the graph's updates next to the optimiser's; running statistics match a float64 reference")
    func runningStatistics() throws {
        let graph = try inferTypes(try Parser.parse(Self.batchNorm))
        for optimizer in [Optimizer(.sgd, learningRate: 0.1), Optimizer(.adam)] {
            let step = try TrainingStep(loss: "loss", optimizer: optimizer).run(graph)
            let targets = Set(step.updates.map(\.target))
            #expect(targets.isSuperset(of: ["running_mean", "running_var", "gamma", "beta", "w"]))
            var manager = PassManager(OptimizingPipeline.passes)
            let interpreter = try Interpreter(graph: try manager.run(step), usePlan: true)
            var state = initialState(for: step, seed: 1)
            // The reference, as NumPy computes it: x.mean(0), x.var(0) (biased), in float64.
            var mean = [Double](repeating: 0, count: 3), variance = [Double](repeating: 1, count: 3)
            let labels = Tensor([8], ints: [0, 1, 2, 3, 0, 1, 2, 3])
            for n in 0..<12 {
                let x = Self.batch(n)
                _ = try interpreter.run(inputs: ["x": x, "labels": labels, "lr": .scalar(0.1)], state: &state, step: n)
                let v = x.floats.map(Double.init)
                for c in 0..<3 {
                    let column = stride(from: c, to: 24, by: 3).map { v[$0] }
                    let mu = column.reduce(0, +) / 8
                    let sigma2 = column.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 8
                    mean[c] = 0.9 * mean[c] + 0.1 * mu
                    variance[c] = 0.9 * variance[c] + 0.1 * sigma2
                }
            }
            let runningMean = try #require(state["running_mean"]).floats, runningVar = try #require(state["running_var"]).floats
            for c in 0..<3 {
                #expect(Swift.abs(Double(runningMean[c]) - mean[c]) <= 1e-5 * Swift.max(1, Swift.abs(mean[c])), "\(optimizer.kind) mean[\(c)]")
                #expect(Swift.abs(Double(runningVar[c]) - variance[c]) <= 1e-5 * Swift.max(1, variance[c]), "\(optimizer.kind) var[\(c)]")
            }
        }
    }

    @Test("eval-mode reads the running statistics and drops the graph's updates")
    func evaluation() throws {
        let graph = try inferTypes(try Parser.parse(Self.batchNorm))
        let evaluation = try EvaluationMode().run(graph)
        #expect(evaluation.updates.isEmpty)
        #expect(!evaluation.nodes.contains { $0.op == .if_training })
        var state = initialState(for: graph, seed: 2)
        state["running_mean"] = Tensor([1, 3], floats: [0.5, -1, 2])
        state["running_var"] = Tensor([1, 3], floats: [4, 0.25, 1])
        let x = Self.batch(0)
        let labels = Tensor([8], ints: [0, 1, 2, 3, 0, 1, 2, 3])
        var scratch = state
        let logits = try #require(try Interpreter(graph: evaluation).run(inputs: ["x": x, "labels": labels], state: &scratch, step: 0)["logits"]).floats
        // The same logits by hand: (x − running mean) / √(running var + ε) · w.
        let w = try #require(state["w"]).floats, mu: [Float] = [0.5, -1, 2], sigma2: [Float] = [4, 0.25, 1]
        for row in 0..<8 {
            for j in 0..<4 {
                var expected: Float = 0
                for c in 0..<3 { expected += (x.floats[row * 3 + c] - mu[c]) / (sigma2[c] + 0.00001).squareRoot() * w[c * 4 + j] }
                #expect(Swift.abs(logits[row * 4 + j] - expected) <= 1e-5 * Swift.max(1, Swift.abs(expected)))
            }
        }
    }

    @Test("a param written by both the graph and the optimizer is an error naming the update")
    func conflict() throws {
        let text = "graph g {\n param w: f32[2] = ones\n loss = reduce_sum(square(w), axes=[0])\n output loss\n half = mul(w, 0.5)\n update w = half\n}"
        do {
            _ = try TrainingStep(loss: "loss", optimizer: Optimizer(.sgd)).run(try inferTypes(try Parser.parse(text)))
            Issue.record("expected an error")
        } catch let d as Diagnostic {
            #expect(d.message.contains("param 'w' is written by the graph's 'update w = "))
            #expect(d.message.contains("declare it 'state'"))
        }
    }

    @Test("if_training passes its gradient to the training value only")
    func ifTrainingGradient() throws {
        let text = "graph g {\n param a: f32[3] = ones\n param b: f32[3] = ones\n y = if_training(mul(a, 3.0), b)\n loss = reduce_sum(y, axes=[0])\n output loss\n}"
        let (graph, gradients) = try Differentiation(loss: "loss").differentiate(try inferTypes(try Parser.parse(text)))
        var state = initialState(for: graph, seed: 0)
        let outputs = try Interpreter(graph: graph).run(inputs: [:], state: &state, step: 0)
        for (param, gradient) in gradients {
            #expect(try #require(outputs[gradient]).floats == (param == "a" ? [3, 3, 3] : [0, 0, 0]), "d_\(param)")
        }
    }
}
