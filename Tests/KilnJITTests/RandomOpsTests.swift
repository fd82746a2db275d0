import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing

/// `bernoulli` and `random_uniform` on the counter-based generator: the same bits on the
/// interpreter and the JIT (plain and inside optimised graphs), the right mean over many
/// draws, and draws that change with the step.
struct RandomOpsTests {
    static func run(_ body: String, inputs: [String: Tensor] = [:], step: Int, optimized: Bool = false) throws -> (Tensor, Tensor) {
        let declarations = inputs.sorted { $0.key < $1.key }.map { " input \($0.key): \($0.value.type)" }.joined(separator: "\n")
        var graph = try inferTypes(try Parser.parse("graph r {\n\(declarations)\n y = \(body)\n output y\n}"))
        if optimized {
            var manager = PassManager(OptimizingPipeline.passes)
            graph = try manager.run(graph)
        }
        var state: [String: Tensor] = [:]
        let a = try Interpreter(graph: graph, usePlan: optimized).run(inputs: inputs, state: &state, step: step)
        let b = try JITBackend(graph: graph).run(inputs: inputs, state: &state, step: step)
        return (try #require(a["y"]), try #require(b["y"]))
    }

    static func bits(_ t: Tensor) -> [UInt32] { t.floats.map(\.bitPattern) }

    @Test("bernoulli and random_uniform draw identical bits on both backends", arguments: [0, 1, 7, 1 << 40])
    func identicalBits(step: Int) throws {
        let p = Tensor([64, 33], floats: (0..<(64 * 33)).map { Float($0 % 17) / 16 })
        for optimized in [false, true] {
            let (a, b) = try Self.run("bernoulli(p, seed=11)", inputs: ["p": p], step: step, optimized: optimized)
            #expect(Self.bits(a) == Self.bits(b))
            let (c, d) = try Self.run("random_uniform(shape=[64, 33], low=-3, high=0.5, seed=5)", step: step, optimized: optimized)
            #expect(Self.bits(c) == Self.bits(d))
            #expect(c.floats.allSatisfy { $0 >= -3 && $0 < 0.5 })
            let (e, f) = try Self.run("add(mul(bernoulli(sigmoid(p), seed=2), 2.0), random_uniform(shape=[64, 33], seed=3))",
                                      inputs: ["p": p], step: step, optimized: optimized)
            #expect(Self.bits(e) == Self.bits(f))
        }
    }

    @Test("bernoulli's mean over many draws is p (within 4 standard errors)")
    func bernoulliMean() throws {
        let ps: [Float] = [0, 0.05, 0.3, 0.5, 0.9, 1]
        let draws = 20_000
        let p = Tensor([ps.count, draws], floats: ps.flatMap { [Float](repeating: $0, count: draws) })
        for step in [0, 3] {
            let (a, b) = try Self.run("bernoulli(p, seed=1)", inputs: ["p": p], step: step)
            for backend in [a, b] {
                let values = backend.floats
                #expect(values.allSatisfy { $0 == 0 || $0 == 1 })
                for (row, expected) in ps.enumerated() {
                    let mean = values[(row * draws)..<((row + 1) * draws)].reduce(0, +) / Float(draws)
                    let standardError = (Double(expected) * (1 - Double(expected)) / Double(draws)).squareRoot()
                    #expect(Swift.abs(Double(mean) - Double(expected)) <= 4 * standardError + 1e-9, "p = \(expected): mean \(mean)")
                }
            }
        }
    }

    @Test("random_uniform's draws fill [low, high) evenly and change with the step")
    func uniformMoments() throws {
        let (a, _) = try Self.run("random_uniform(shape=[100000], low=2, high=4, seed=8)", step: 0)
        let (b, _) = try Self.run("random_uniform(shape=[100000], low=2, high=4, seed=8)", step: 1)
        let mean = a.floats.reduce(0.0) { $0 + Double($1) } / 100_000
        #expect(Swift.abs(mean - 3) < 0.01)
        #expect(a.floats.min()! >= 2 && a.floats.max()! < 4)
        #expect(a.floats != b.floats)
    }

    @Test("iota counts along its axis in either element type")
    func iota() throws {
        let (a, b) = try Self.run("iota(shape=[2, 3, 4], axis=1, dtype=f32)", step: 0)
        let counted: [Float] = (0..<24).map { (i: Int) -> Float in Float((i / 4) % 3) }
        #expect(a.floats == counted)
        #expect(Self.bits(a) == Self.bits(b))
        let (c, d) = try Self.run("iota(shape=[5, 2], axis=-2)", step: 0)
        let pairs: [Int32] = (0..<10).map { (i: Int) -> Int32 in Int32(i / 2) }
        #expect(c.ints == pairs)
        #expect(c.ints == d.ints)
    }
}
