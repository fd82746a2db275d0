import Foundation
import KilnIR
import KilnRuntime
import Testing
@testable import kiln

/// `kiln gradcheck`: finite differences against the symbolic gradient, per param. A correct
/// gradient passes; a gradient rule broken on purpose (`KILN_TEST_BREAK_GRADIENT=OP`, which
/// scales that op's adjoints by 1.5) is flagged on exactly the params behind that op.
struct GradcheckCommandTests {
    @Test("the XOR MLP's gradients pass; exit status 0; one row per param")
    func passes() throws {
        let (status, out, err) = try runKiln(["gradcheck", repositoryRoot.appendingPathComponent("Graphs/xor_mlp.kiln").path, "--loss", "loss"])
        #expect(status == 0, "\(err)")
        for param in ["w1", "b1", "w2", "b2"] { #expect(out.contains("\n\(param) "), "\(param) row") }
        #expect(out.hasSuffix("passed\n"))
    }

    @Test("a deliberately wrong tanh gradient is flagged on the params before the tanh; exit status 1")
    func flagsBrokenRule() throws {
        let (status, out, _) = try runKiln(["gradcheck", repositoryRoot.appendingPathComponent("Graphs/xor_mlp.kiln").path, "--loss", "loss"],
                                           environment: ["KILN_TEST_BREAK_GRADIENT": "tanh"])
        #expect(status == 1)
        let rows = Dictionary(uniqueKeysWithValues: out.split(separator: "\n").compactMap { line -> (String, String)? in
            let name = line.split(separator: " ").first.map(String.init) ?? ""
            return ["w1", "b1", "w2", "b2"].contains(name) ? (name, String(line)) : nil
        })
        // xor_mlp: h = tanh(x·w1 + b1), so w1 and b1 are behind the broken rule, w2 and b2 are not.
        #expect(rows["w1"]?.hasSuffix("FAIL") == true && rows["b1"]?.hasSuffix("FAIL") == true)
        #expect(rows["w2"]?.hasSuffix("ok") == true && rows["b2"]?.hasSuffix("ok") == true)
        #expect(out.contains("FAILED"))
    }

    @Test("the library check reports ~0.33 relative error for a rule scaled by 1.5")
    func library() throws {
        let graph = try inferTypes(try Parser.parse("graph g {\n param a: f32[4] = uniform(-1.0, 1.0)\n input x: f32[4]\n loss = reduce_sum(mul(sigmoid(mul(a, x)), x), axes=[0])\n output loss\n}"))
        let x = Tensor([4], floats: [0.5, -1, 2, 0.25])
        let state = initialState(for: graph, seed: 1)
        let good = try GradientCheck(loss: "loss").run(graph, inputs: ["x": x], state: state)
        #expect(good.allSatisfy { $0.relativeError < 1e-3 })
        let bad = try GradientCheck(loss: "loss", breaking: .sigmoid).run(graph, inputs: ["x": x], state: state)
        #expect(bad.allSatisfy { Swift.abs($0.relativeError - 1.0 / 3) < 0.01 })
    }

    @Test("values the symbolic gradient treats as constants (stop_gradient, bernoulli samples) are held while differencing")
    func heldSamples() throws {
        // d/da Σ sg(bernoulli(sigmoid(4a)))·a² = 2a·sample: exact once the sample is held, while
        // perturbing a through the sampler would flip samples and jump.
        let graph = try inferTypes(try Parser.parse("graph g {\n param a: f32[64] = uniform(-1.0, 1.0)\n s = stop_gradient(bernoulli(sigmoid(mul(a, 4.0)), seed=3))\n loss = reduce_sum(mul(s, square(a)), axes=[0])\n output loss\n}"))
        let results = try GradientCheck(loss: "loss", samples: 64, step: 0.05).run(graph, inputs: [:], state: initialState(for: graph, seed: 2))
        #expect(results.allSatisfy { $0.relativeError < 1e-3 }, "\(results.map(\.relativeError))")
    }

    @Test("bad options name their range", arguments: [
        (["--samples", "0"], "--samples must be between 1 and 100000, got 0"),
        (["--epsilon", "0.5"], "--epsilon must be in (0, 0.1], got 0.5"),
        (["--tolerance", "0"], "--tolerance must be in (0, 1], got 0.0"),
    ])
    func options(_ extra: [String], _ message: String) {
        #expect(validationMessage(Gradcheck.self, ["g.kiln", "--loss", "loss"] + extra)?.contains(message) == true)
    }
}
