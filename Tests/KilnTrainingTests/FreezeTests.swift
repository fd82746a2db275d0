import KilnData
import KilnIR
import KilnRuntime
import KilnTraining
import Testing

/// Frozen params: left out of the training step entirely.
struct FreezeTests {
    static let graph = """
        graph two {
          input x: f32[8, 4]
          input labels: i32[8]
          param w1: f32[4, 6] = glorot_uniform
          param b1: f32[6] = zeros
          param w2: f32[6, 3] = glorot_uniform
          param b2: f32[3] = zeros
          logits = add(matmul(relu(add(matmul(x, w1), b1)), w2), b2)
          loss = softmax_cross_entropy(logits, labels)
          output loss as loss
          output logits as logits
        }
        """

    @Test("frozen params stay bit-identical, get no gradient and no optimiser state; the others train", arguments: ["adam", "momentum:lr=0.1,weight_decay=0.01,l1=0.001"])
    func frozen(_ optimizer: String) throws {
        let graph = try Parser.parse(Self.graph)
        let frozen = try ParamSelection.select("w1,b*", in: graph)
        #expect(frozen == ["w1", "b1", "b2"])
        let trainer = try Trainer(graph: graph, optimizer: try .parse(optimizer), seed: 3, frozen: frozen)
        let before = trainer.state
        try trainer.fit(try TrainerTests.data(64), epochs: 3, validation: .none, progress: .silent)
        for name in frozen {
            #expect(try #require(trainer.state[name]).floats.map(\.bitPattern) == (try #require(before[name])).floats.map(\.bitPattern), "\(name)")
        }
        #expect(try #require(trainer.state["w2"]).floats != (try #require(before["w2"])).floats)
        // No optimiser state and no gradient node for a frozen param.
        #expect(!trainer.state.keys.contains { $0.hasSuffix("_w1") || $0.hasSuffix("_b1") || $0.hasSuffix("_b2") })
        #expect(trainer.trainingGraph.updates.allSatisfy { !frozen.contains($0.target) })
        #expect(!trainer.trainingGraph.text.contains("d_w1"))
    }

    @Test("freezing everything, or a name that is not a param, is an error")
    func errors() throws {
        let graph = try Parser.parse(Self.graph)
        #expect(throws: Diagnostic.self) { try Trainer(graph: graph, optimizer: try .parse("sgd"), frozen: ["w1", "b1", "w2", "b2"]) }
        #expect(throws: Diagnostic.self) { try Trainer(graph: graph, optimizer: try .parse("sgd"), frozen: ["x"]) }
    }
}
