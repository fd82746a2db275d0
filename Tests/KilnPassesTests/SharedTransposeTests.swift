import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// A matrix several products read transposed is transposed once by Simplify, and the graph
/// computes the same values; a matrix read transposed once is left as it is.
struct SharedTransposeTests {
    static let text = """
        graph g {
          input x: f32[4, 6]
          input y: f32[4, 6]
          param u: f32[5, 6] = he_normal
          param v: f32[3, 6] = he_normal
          a = matmul(x, u, transpose_b=true)
          b = matmul(y, u, transpose_b=true)
          c = matmul(x, v, transpose_b=true)
          output a
          output b
          output c
        }
        """

    @Test("u, read transposed twice, is transposed once; v, once, stays a transposed read")
    func rewrites() throws {
        let g = try Simplify().run(try inferTypes(try Parser.parse(Self.text)))
        let transposes = g.nodes.filter { $0.op == .transpose }
        #expect(transposes.count == 1)
        #expect(transposes.first?.operands == ["u"])
        #expect(transposes.first?.type == TensorType(.f32, [6, 5]))
        let readers = g.nodes.filter { $0.op == .matmul && $0.operands.contains(transposes.first?.name ?? "?") }
        #expect(readers.count == 2 && readers.allSatisfy { !$0.attributes.bool("transpose_b") })
        #expect(g.nodes.filter { $0.op == .matmul && $0.attributes.bool("transpose_b") }.map { $0.operands[1] } == ["v"])
        try Verifier().verify(g)
    }

    @Test("the rewritten graph computes what the original does")
    func sameValues() throws {
        let original = try inferTypes(try Parser.parse(Self.text))
        let simplified = try Simplify().run(original)
        var feeds: [String: Tensor] = [:]
        for (i, name) in ["x", "y"].enumerated() { feeds[name] = Tensor([4, 6], floats: (0..<24).map { Float(($0 * 7 + i * 3) % 11) - 5 }) }
        var s1 = initialState(for: original, seed: 3), s2 = s1
        let want = try Interpreter(graph: original).run(inputs: feeds, state: &s1, step: 0)
        let got = try Interpreter(graph: simplified).run(inputs: feeds, state: &s2, step: 0)
        for name in ["a", "b", "c"] {
            let w = want[name]?.floats ?? [], g = got[name]?.floats ?? []
            #expect(!w.isEmpty && w.count == g.count)
            #expect(zip(w, g).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) }, "\(name)")
        }
    }
}
