import KilnCheck
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing

/// Finite differences on the JIT for the ops whose gradients the JIT computes with code of its
/// own shape (broadcast batched matmul through sgemm, softplus's inline log1p/exp): the
/// symbolic gradient, compiled, against central differences of the compiled forward graph, by
/// the one checker (`KilnCheck.GradientCheck` with `backend: .jit`). (`GradientCheckTests` in
/// KilnPassesTests does the same for every op on the interpreter.)
struct JITGradientCheckTests {
    static let cases: [(String, String)] = [
        ("softplus", "param a: f32[3, 4] = uniform(-1.0, 1.0)\n y = softplus(mul(a, 8.0))"),
        ("matmul 4-D × 3-D through sgemm",
         "param a: f32[2, 1, 20, 16] = uniform(-1.0, 1.0)\n param b: f32[3, 16, 18] = uniform(-1.0, 1.0)\n y = matmul(a, b)"),
        ("matmul 3-D × 4-D transposed, loops",
         "param a: f32[2, 4, 3] = uniform(-1.0, 1.0)\n param b: f32[2, 1, 5, 4] = uniform(-1.0, 1.0)\n y = matmul(a, b, transpose_a=true, transpose_b=true)"),
        ("matmul 4-D × 2-D flattened", "param a: f32[2, 3, 20, 16] = uniform(-1.0, 1.0)\n param b: f32[16, 18] = uniform(-1.0, 1.0)\n y = matmul(a, b)"),
    ]

    @Test("symbolic gradients on the JIT match central differences", arguments: cases.map(\.0))
    func gradient(_ name: String) throws {
        let declarations = try #require(Self.cases.first { $0.0 == name }).1
        let (forward, r) = try GradientCheck.weightedSum(of: "y", in: try Parser.parse("graph g {\n \(declarations)\n output y\n}"), seed: 9)
        // 96 elements spread over each param, which covers each broadcast batch entry; the
        // interpreter's tolerance (GradientCheckTests): 1e-2 relative, 1e-3 absolute below 0.1.
        // Steps h = 0.1, 0.03, 0.01 (the best kept): the JIT sums the loss in float32, whose
        // rounding over thousands of terms needs the wider steps (matmul is linear in each
        // element, so they cost nothing there), while 0.01 resolves softplus's curvature.
        let results = try GradientCheck(loss: "loss", samples: 96, step: 1e-2, floor: 0.1, backend: .jit)
            .run(forward, inputs: ["r": r], state: initialState(for: forward, seed: 3))
        #expect(Set(results.map(\.param)) == Set(forward.trainableParams.map(\.name)), "\(name): a param has no gradient")
        #expect(!results.isEmpty && results.allSatisfy { $0.checked > 0 }, "\(name): nothing compared")
        for result in results {
            #expect(result.relativeError <= 1e-2, "\(name): \(result.summary)")
        }
    }

    @Test("stop_gradient blocks exactly its own path, on both backends")
    func stopGradient() throws {
        let text = "graph g {\n param a: f32[3, 4] = uniform(-1.0, 1.0)\n y = mul(stop_gradient(a), a)\n loss = reduce_sum(y, axes=[0, 1])\n output loss\n}"
        let (gradGraph, gradients) = try Differentiation(loss: "loss").differentiate(try inferTypes(try Parser.parse(text)))
        let base = initialState(for: gradGraph, seed: 1)
        var s1 = base, s2 = base
        let a = try #require(base["a"]).floats
        let name = try #require(gradients.first { $0.wrt == "a" }).gradient
        // d/da (sg(a)·a) = sg(a) = a, not 2a.
        #expect(try #require(try Interpreter(graph: gradGraph).run(inputs: [:], state: &s1, step: 0)[name]).floats == a)
        #expect(try #require(try JITBackend(graph: gradGraph).run(inputs: [:], state: &s2, step: 0)[name]).floats == a)
    }
}
