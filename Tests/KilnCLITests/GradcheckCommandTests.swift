import Foundation
import KilnIR
import KilnRuntime
import Testing
@testable import kiln

/// `kiln gradcheck`: finite differences against the symbolic gradient, per param. A correct
/// gradient passes; a gradient rule broken on purpose (`KILN_TEST_BREAK_GRADIENT=OP`, which
/// scales that op's adjoints by 1.5) is flagged on exactly the params behind that op, on either
/// backend. (The checker itself is tested in KilnCheckTests.)
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

    @Test("the documented command: the MLP's gradients on the JIT pass, one row per param", arguments: ["interp", "jit"])
    func mlp(_ backend: String) throws {
        let (status, out, err) = try runKiln(["gradcheck", repositoryRoot.appendingPathComponent("Graphs/mlp.kiln").path,
                                              "--loss", "loss", "--backend", backend])
        #expect(status == 0, "\(out)\(err)")
        #expect(out.contains(backend == "jit" ? "on the jit:" : "on the interpreter:"))
        for param in ["w1", "b1", "w2", "b2", "w3", "b3"] { #expect(out.contains("\n\(param) "), "\(param) row") }
        #expect(out.hasSuffix("passed\n"))
    }

    @Test("on the JIT too, a deliberately wrong tanh gradient is flagged on exactly the params before the tanh")
    func flagsBrokenRuleOnJIT() throws {
        let (status, out, _) = try runKiln(["gradcheck", repositoryRoot.appendingPathComponent("Graphs/xor_mlp.kiln").path, "--loss", "loss",
                                            "--backend", "jit"], environment: ["KILN_TEST_BREAK_GRADIENT": "tanh"])
        #expect(status == 1)
        #expect(out.contains("on the jit:"))
        let failing = out.split(separator: "\n").filter { $0.hasSuffix("FAIL") }.compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(failing.sorted() == ["b1", "w1"], "\(out)")
    }

    @Test("bad options name their range", arguments: [
        (["--samples", "0"], "--samples must be between 1 and 100000, got 0"),
        (["--epsilon", "0.5"], "--epsilon must be in (0, 0.1], got 0.5"),
        (["--tolerance", "0"], "--tolerance must be in (0, 1], got 0.0"),
        (["--backend", "gpu"], "unknown backend 'gpu' (interp or jit)"),
    ])
    func options(_ extra: [String], _ message: String) {
        #expect(validationMessage(Gradcheck.self, ["g.kiln", "--loss", "loss"] + extra)?.contains(message) == true)
    }
}
