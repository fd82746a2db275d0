import Foundation
import KilnCheck
import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// The finite-difference checker itself, on both backends: a correct gradient agrees, a rule
/// broken on purpose (`breaking`, which scales that op's adjoints by 1.5) is off by the 1/3 it
/// should be, values the gradient treats as constants are held, and `weightedSum` builds the
/// loss the per-op and per-layer tests check through.
struct GradientCheckTests {
    static let backends: [String] = ["interpreter", "jit"]
    static func backend(_ name: String) -> ComparedBackend { name == "jit" ? .jit : .interpreter }

    static func sigmoidGraph() throws -> Graph {
        try inferTypes(try Parser.parse("graph g {\n param a: f32[4] = uniform(-1.0, 1.0)\n input x: f32[4]\n loss = reduce_sum(mul(sigmoid(mul(a, x)), x), axes=[0])\n output loss\n}"))
    }

    @Test("a correct gradient agrees; a rule scaled by 1.5 is off by 1/3", arguments: backends)
    func brokenRule(_ name: String) throws {
        let graph = try Self.sigmoidGraph()
        let x = Tensor([4], floats: [0.5, -1, 2, 0.25])
        let state = initialState(for: graph, seed: 1)
        let good = try GradientCheck(loss: "loss", backend: Self.backend(name)).run(graph, inputs: ["x": x], state: state)
        #expect(good.map(\.param) == ["a"])
        #expect(good.allSatisfy { $0.relativeError < 1e-3 }, "\(good.map(\.summary))")
        let bad = try GradientCheck(loss: "loss", breaking: .sigmoid, backend: Self.backend(name)).run(graph, inputs: ["x": x], state: state)
        #expect(bad.allSatisfy { Swift.abs($0.relativeError - 1.0 / 3) < 0.01 }, "\(bad.map(\.summary))")
    }

    @Test("values the symbolic gradient treats as constants (stop_gradient, bernoulli samples) are held while differencing", arguments: backends)
    func heldSamples(_ name: String) throws {
        // d/da Σ sg(bernoulli(sigmoid(4a)))·a² = 2a·sample: exact once the sample is held, while
        // perturbing a through the sampler would flip samples and jump.
        let graph = try inferTypes(try Parser.parse("graph g {\n param a: f32[64] = uniform(-1.0, 1.0)\n s = stop_gradient(bernoulli(sigmoid(mul(a, 4.0)), seed=3))\n loss = reduce_sum(mul(s, square(a)), axes=[0])\n output loss\n}"))
        let results = try GradientCheck(loss: "loss", samples: 64, step: 0.05, backend: Self.backend(name))
            .run(graph, inputs: [:], state: initialState(for: graph, seed: 2))
        #expect(results.count == 1)
        #expect(results.allSatisfy { $0.relativeError < 1e-3 && $0.checked == 64 }, "\(results.map(\.summary))")
    }

    @Test("weightedSum appends Σ value·r with r in [0.5, 1.5) as the only output")
    func weightedSum() throws {
        let graph = try Parser.parse("graph g {\n param a: f32[2, 3] = uniform(-1.0, 1.0)\n y = tanh(a)\n output y\n}")
        let (loss, r) = try GradientCheck.weightedSum(of: "y", in: graph, seed: 7)
        #expect(loss.outputs == ["loss"])
        #expect(loss.valueTypes["loss"] == TensorType(.f32, []))
        #expect(r.type == TensorType(.f32, [2, 3]))
        #expect(r.floats.allSatisfy { $0 >= 0.5 && $0 < 1.5 } && Set(r.floats).count == 6)
        var state = initialState(for: loss, seed: 1)
        let a = try #require(state["a"]).floats
        let value = try #require(try Interpreter(graph: loss).run(inputs: ["r": r], state: &state, step: 0)["loss"]).floats[0]
        let expected = zip(a, r.floats).map { Double(Foundation.tanh($0)) * Double($1) }.reduce(0, +)
        #expect(Swift.abs(Double(value) - expected) < 1e-5)
        #expect(throws: Diagnostic.self) { try GradientCheck.weightedSum(of: "z", in: graph) }
        #expect(throws: Diagnostic.self) { try GradientCheck.weightedSum(of: "y", in: graph, loss: "a") }
    }

    @Test("bad settings are errors, not empty checks")
    func badSettings() throws {
        let graph = try Self.sigmoidGraph()
        let state = initialState(for: graph, seed: 1)
        let x = Tensor([4], floats: [1, 1, 1, 1])
        #expect(throws: Diagnostic.self) { try GradientCheck(loss: "loss", samples: 0).run(graph, inputs: ["x": x], state: state) }
        #expect(throws: Diagnostic.self) { try GradientCheck(loss: "loss", step: .nan).run(graph, inputs: ["x": x], state: state) }
        #expect(throws: Diagnostic.self) { try GradientCheck(loss: "nope").run(graph, inputs: ["x": x], state: state) }
    }
}
