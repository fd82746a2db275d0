import Foundation
import KilnData
import KilnIR
import KilnNN
import KilnPasses
import KilnRuntime
import KilnTraining
import Testing

/// BatchNorm: batch statistics while training, running statistics in evaluation graphs, and
/// running statistics that follow the batches as PyTorch's do.
struct BatchNormTests {
    static let x: [Float] = [1, 2, 3, 4, -1, 0, 5, 8, 2, 2, 7, -3]

    @Test("shapes for [N, C] and [N, C, H, W]; params [C] / [C, 1, 1]; gradients by finite differences")
    func shapesAndGradients() throws {
        #expect(outputShape(BatchNorm(), [4, 3]) == [4, 3])
        #expect(outputShape(BatchNorm(), [2, 3, 4, 4]) == [2, 3, 4, 4])
        #expect(outputShape(BatchNorm(), [5]) == nil)
        try LayerGradient.check("batch norm dense") { m in BatchNorm()(LayerGradient.input(m, [4, 3])) }
        try LayerGradient.check("batch norm conv") { m in BatchNorm()(LayerGradient.input(m, [2, 2, 3, 3])) }
        let m = ModelBuilder("bn")
        _ = BatchNorm()(m.input("x", .f32, [2, 3, 4, 4]))
        let g = try m.build()
        #expect(g.param(named: "batchnorm1.weight")?.type.shape == Shape([3, 1, 1]))
        #expect(g.param(named: "batchnorm1.running_var")?.role == .state && g.updates.count == 2)
    }

    @Test("training normalises with the batch; evaluation with the running statistics, without updating them")
    func trainVersusEval() throws {
        let m = ModelBuilder("bn")
        let y = BatchNorm(epsilon: 0)(m.input("x", .f32, [4, 3]))
        m.output(y)
        let graph = try m.build()
        var state = initialState(for: graph, seed: 0)
        let feeds = ["x": Tensor([4, 3], floats: Self.x)]
        let trained = try #require(try Interpreter(graph: graph).run(inputs: feeds, state: &state, step: 0)[y.name]).floats
        for c in 0..<3 {
            let column = (0..<4).map { trained[$0 * 3 + c] }
            let mean = column.reduce(0, +) / 4, variance = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            #expect(Swift.abs(mean) < 1e-5 && Swift.abs(variance - 1) < 1e-4)
        }
        // Running statistics moved by momentum 0.1 towards the batch's (unbiased variance).
        for c in 0..<3 {
            let column = (0..<4).map { Double(Self.x[$0 * 3 + c]) }
            let mean = column.reduce(0, +) / 4, unbiased = column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3
            #expect(Swift.abs(Double(state["batchnorm1.running_mean"]?.floats[c] ?? .nan) - 0.1 * mean) < 1e-5)
            #expect(Swift.abs(Double(state["batchnorm1.running_var"]?.floats[c] ?? .nan) - (0.9 + 0.1 * unbiased)) < 1e-5)
        }
        let evaluation = try EvaluationMode().run(graph)
        #expect(evaluation.updates.isEmpty)
        var evalState = state
        let evaluated = try #require(try Interpreter(graph: evaluation).run(inputs: feeds, state: &evalState, step: 0)[y.name]).floats
        let mean = state["batchnorm1.running_mean"]?.floats ?? [], variance = state["batchnorm1.running_var"]?.floats ?? []
        for (i, v) in evaluated.enumerated() {
            #expect(Swift.abs(v - (Self.x[i] - mean[i % 3]) / variance[i % 3].squareRoot()) < 1e-5)
        }
        #expect(evalState["batchnorm1.running_mean"]?.floats == mean, "evaluation must not move the running statistics")
    }

    @Test("a Trainer steps the running statistics next to the optimiser's updates, on both backends")
    func trainer() throws {
        let m = ModelBuilder("bn_mlp")
        let x = m.input("x", .f32, [8, 4]), labels = m.input("labels", .i32, [8])
        let logits = Sequential { Dense(6); BatchNorm(); Activation.relu; Dense(3) }(x)
        m.output(softmaxCrossEntropy(logits, labels), role: .loss)
        m.output(logits, role: .logits)
        let graph = try m.build()
        var results: [[Float]] = []
        for backend in BackendKind.allCases {
            let t = try Trainer(graph: graph, optimizer: try .parse("sgd:lr=0.1"), backend: backend)
            let feeds = ["x": Tensor([8, 4], floats: (0..<32).map { Float($0 % 7) - 3 }), "labels": Tensor([8], ints: (0..<8).map { Int32($0 % 3) })]
            for _ in 0..<3 { try t.step(feeds) }
            let running = try #require(t.state["batchnorm1.running_mean"]).floats
            #expect(running.contains { $0 != 0 }, "the running mean moved")
            results.append(running)
        }
        #expect(zip(results[0], results[1]).allSatisfy { Swift.abs($0 - $1) < 1e-4 })
    }
}
