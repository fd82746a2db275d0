import Foundation
import KilnData
import KilnIR
import KilnPasses
import KilnRuntime
import KilnTraining
import Testing

/// A batch-norm layer whose params are all frozen keeps its running statistics, unless asked.
struct FrozenStatisticsTests {
    @Test("the statistics belong to the layer's scale and shift; only a wholly frozen layer freezes them")
    func ownership() throws {
        let graph = try inferTypes(try Parser.parse(ModelTests.text))
        #expect(FrozenStatistics.layerParams(in: graph) == ["mean": ["gamma", "beta"], "var": ["gamma", "beta"]])
        #expect(FrozenStatistics.frozenStates(in: graph, frozen: ["gamma", "beta", "w"]) == ["mean", "var"])
        #expect(FrozenStatistics.frozenStates(in: graph, frozen: ["gamma", "w"]).isEmpty)
        #expect(throws: Diagnostic("cannot freeze statistics 'w': not a state tensor of graph 'bnclass'")) {
            try FrozenStatistics(states: ["w"]).run(graph)
        }
    }

    @Test("frozen gamma and beta: the step neither updates nor uses the batch statistics; updatesFrozenStatistics keeps them moving")
    func frozenLayer() throws {
        let graph = try Parser.parse(ModelTests.text)
        let batch = try #require(try ReportSupport.data(8).evaluationBatches(size: 8).first)
        for updates in [false, true] {
            let trainer = try Trainer(graph: graph, optimizer: try .parse("sgd:lr=0.1"), backend: .interpreter, seed: 2,
                                      frozen: ["gamma", "beta"], updatesFrozenStatistics: updates)
            #expect(trainer.frozenStatistics == (updates ? [] : ["mean", "var"]))
            // Statistics far from the batch's: using them or the batch's gives different losses.
            trainer.state["mean"] = Tensor([6], floats: Array(repeating: 0.4, count: 6))
            let before = try #require(trainer.state["mean"]).floats
            let loss = try trainer.step(batch)
            let after = try #require(trainer.state["mean"]).floats
            #expect((after == before) == !updates)
            // Frozen: the step normalises with the running statistics, as evaluation does.
            if !updates {
                #expect(!trainer.trainingGraph.nodes.contains { $0.op == .if_training })
                #expect(!trainer.trainingGraph.updates.contains { $0.target == "mean" || $0.target == "var" })
            }
            #expect(loss.isFinite)
        }
    }
}
