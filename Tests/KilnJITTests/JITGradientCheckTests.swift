import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing

/// Finite differences on the JIT for the ops whose gradients the JIT computes with code of its
/// own shape (broadcast batched matmul through sgemm, softplus's inline log1p/exp): the
/// symbolic gradient, compiled, against central differences of the compiled forward graph.
/// (`GradientCheckTests` in KilnPassesTests does the same for every op on the interpreter.)
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
        let typed = try inferTypes(try Parser.parse("graph g {\n \(declarations)\n output y\n}"))
        let yType = try #require(typed.valueTypes["y"])
        let axes = (0..<yType.rank).map(String.init).joined(separator: ", ")
        let text = "graph g {\n \(declarations)\n input r: f32\(yType.shape)\n loss = reduce_sum(mul(y, r), axes=[\(axes)])\n output loss\n}"
        let forward = try inferTypes(try Parser.parse(text))
        let r = Tensor(yType.shape, floats: (0..<yType.elementCount).map { 0.5 + KilnRandom.uniform(seed: 9, step: 0, index: UInt64($0)) })
        let (gradGraph, gradients) = try Differentiation(loss: "loss").differentiate(forward)
        let base = initialState(for: forward, seed: 3)
        var state = base
        let symbolic = try JITBackend(graph: gradGraph).run(inputs: ["r": r], state: &state, step: 0)
        let evaluate = try JITBackend(graph: forward)
        let h: Float = 1e-2
        var compared = 0
        #expect(Set(gradients.map(\.wrt)) == Set(forward.trainableParams.map(\.name)), "\(name): a param has no gradient")
        defer { #expect(compared > 0, "\(name): nothing compared") }
        for (param, gradientName) in gradients {
            let ad = try #require(symbolic[gradientName]).floats
            let original = try #require(base[param])
            // Sampled elements: every 7th, which covers each broadcast batch entry.
            for j in stride(from: 0, to: original.elementCount, by: 7) {
                func loss(_ delta: Float) throws -> Double {
                    var perturbed = base
                    let copy = original.copy()
                    copy.floatPointer[j] += delta
                    perturbed[param] = copy
                    return Double(try #require(try evaluate.run(inputs: ["r": r], state: &perturbed, step: 0)["loss"]).floats[0])
                }
                let fd = Float((try loss(h) - loss(-h)) / Double(2 * h))
                // The interpreter's tolerance (GradientCheckTests): float32 sums of up to 16
                // products differenced at h = 1e-2 stay well inside 1e-3 absolute.
                compared += 1
                #expect(Swift.abs(fd - ad[j]) <= 1e-3 + 1e-2 * Swift.abs(ad[j]), "\(name): d\(param)[\(j)] symbolic \(ad[j]) vs \(fd)")
            }
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
