import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnJIT

/// Updates written into their param's storage (`InPlaceUpdates`): which qualify, that the
/// storage really is reused step after step with the values tracking the interpreter's, and
/// that a caller holding a param's tensor keeps its values.
struct InPlaceUpdatesTests {
    static let mlp = """
        graph mlp {
          input x: f32[16, 40]
          input labels: i32[16]
          param w1: f32[40, 32] = glorot_uniform
          param b1: f32[32] = zeros
          param w2: f32[32, 10] = glorot_uniform
          param b2: f32[10] = zeros
          h = relu(add(matmul(x, w1), b1))
          logits = add(matmul(h, w2), b2)
          loss = softmax_cross_entropy(logits, labels)
          output loss
        }
        """

    static func adamStep() throws -> Graph {
        let step = try TrainingStep(loss: "loss", optimizer: Optimizer(.adam, learningRate: 0.01)).run(try inferTypes(try Parser.parse(mlp)))
        return try InvariantCallsTests.graph(step.text)
    }

    static let feeds: [String: Tensor] = [
        "x": InvariantCallsTests.tensor([16, 40], seed: 1), "labels": Tensor(Shape([16]), ints: (0..<16).map { Int32($0 % 10) }),
        "lr": Tensor.scalar(0.01),
    ]

    static func feeds(for graph: Graph) -> [String: Tensor] { feeds.filter { name, _ in graph.inputs.contains { $0.name == name } } }

    @Test("Adam's params and moments are updated in their own storage, step after step, equal to the interpreter's")
    func adam() throws {
        let graph = try Self.adamStep()
        let jit = try JITBackend(graph: graph)
        jit.updatesInPlace = true
        let targets = Set(jit.inPlaceUpdates.values)
        // Every update, the weights' too: each is the epilogue of its gradient's generated GEMM,
        // which keeps the product in a scratch tile rather than in the new weights' buffer.
        #expect(targets == Set(graph.updates.map(\.target)), "in place: \(targets.sorted()) of \(graph.updates.map(\.target).sorted())")
        let interpreter = try Interpreter(graph: graph, usePlan: true)
        var s1 = initialState(for: graph, seed: 3), s2 = s1
        let feeds = Self.feeds(for: graph)
        var storages: [String: ObjectIdentifier] = [:]
        for n in 0..<4 {
            _ = try interpreter.run(inputs: feeds, state: &s1, step: n)
            _ = try jit.run(inputs: feeds, state: &s2, step: n)
            // Step 0 shares its initial tensors with the interpreter's state: fresh buffers then.
            let now = s2.mapValues { ObjectIdentifier($0.storage) }
            if n >= 2 {
                for target in targets { #expect(now[target] == storages[target], "\(target) moved at step \(n)") }
            }
            storages = now
        }
        for update in graph.updates {
            let (a, b) = (s1[update.target]?.floats ?? [], s2[update.target]?.floats ?? [])
            let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? .infinity
            #expect(!a.isEmpty && a.count == b.count && worst < 1e-5, "\(update.target): \(worst) \(a.prefix(4)) \(b.prefix(4))")
        }
    }

    @Test("off by default: every update goes to a fresh buffer")
    func offByDefault() throws {
        let graph = try Self.adamStep()
        let jit = try JITBackend(graph: graph)
        #expect(!jit.updatesInPlace)
        var state = initialState(for: graph, seed: 5)
        let feeds = Self.feeds(for: graph)
        for n in 0..<2 { _ = try jit.run(inputs: feeds, state: &state, step: n) }
        let before = state["m_w1"].map { ObjectIdentifier($0.storage) }
        _ = try jit.run(inputs: feeds, state: &state, step: 2)
        #expect(state["m_w1"].map { ObjectIdentifier($0.storage) } != before)
    }

    @Test("a caller holding a param's tensor keeps its values: that update goes to a fresh buffer")
    func heldTensorKeepsItsValues() throws {
        let graph = try Self.adamStep()
        let jit = try JITBackend(graph: graph)
        jit.updatesInPlace = true
        var state = initialState(for: graph, seed: 5)
        let feeds = Self.feeds(for: graph)
        for n in 0..<2 { _ = try jit.run(inputs: feeds, state: &state, step: n) }
        let held = try #require(state["m_w1"]), before = held.floats
        // An identifier, not a reference: holding the storage would make it shared.
        let other = ObjectIdentifier(try #require(state["m_w2"]).storage)
        _ = try jit.run(inputs: feeds, state: &state, step: 2)
        #expect(held.floats == before)
        #expect(state["m_w1"]?.storage !== held.storage && state["m_w1"]?.floats != before)
        #expect(state["m_w2"].map { ObjectIdentifier($0.storage) } == other, "m_w2, held by the state alone, is updated in place")
    }

    @Test("updates stay out of place when the param is read later, is an output, or feeds a contraction of its own update")
    func refusals() throws {
        func planned(_ body: String) throws -> [String: String] {
            let text = """
                graph g {
                  input x: f32[4, 4]
                  param w: f32[4, 4] = glorot_uniform
                  param u: f32[4, 4] = glorot_uniform
                \(body)
                }
                """
            let graph = try InvariantCallsTests.graph(text)
            return try JITBackend(graph: graph).inPlaceUpdates
        }
        // Elementwise from the param itself, nothing reads it after: in place.
        #expect(try planned("  nw = sub(w, x)\n  y = reduce_sum(matmul(x, u), axes=[0, 1])\n  output y\n  update w = nw") == ["nw": "w"])
        // A later node reads w (the output's product runs after the update's kernel).
        #expect(try planned("  nw = sub(w, x)\n  y = reduce_sum(matmul(nw, w), axes=[0, 1])\n  output y\n  update w = nw") == [:])
        // w is an output of the step.
        #expect(try planned("  nw = sub(w, x)\n  output w\n  update w = nw") == [:])
        // The update is a product reading w at other indices.
        #expect(try planned("  nw = matmul(w, x)\n  update w = nw\n  y = reduce_sum(u, axes=[0, 1])\n  output y") == [:])
    }
}
