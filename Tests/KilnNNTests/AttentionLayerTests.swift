import KilnIR
import KilnNN
import KilnRuntime
import Testing

/// MultiHeadAttention: shapes, params, the causal mask, gradients.
struct AttentionLayerTests {
    @Test("self- and cross-attention keep the queries' shape; weights are [batch·heads, tokens, context]")
    func shapes() throws {
        #expect(outputShape(MultiHeadAttention(heads: 2), [2, 5, 8]) == [2, 5, 8])
        let m = ModelBuilder("cross")
        let attention = MultiHeadAttention(heads: 4)
        let y = attention(m.input("x", .f32, [2, 5, 8]), attendingTo: m.input("memory", .f32, [2, 3, 8]))
        #expect(y.shape == [2, 5, 8])
        #expect(attention.attentionWeights?.shape == [8, 5, 3])
        m.output(y)
        #expect(try m.build().params.map(\.name) == ["query", "key", "value", "output"].flatMap { ["attention1.\($0).weight", "attention1.\($0).bias"] })
    }

    @Test("a width that is not a multiple of the heads, or an unknown param role, is an error")
    func errors() {
        #expect(outputShape(MultiHeadAttention(heads: 3), [2, 5, 8]) == nil)
        #expect(outputShape(MultiHeadAttention(heads: 2, names: ["querry.weight": "wq"]), [2, 5, 8]) == nil)
        #expect(outputShape(MultiHeadAttention(heads: 2), [5, 8]) == nil)
    }

    @Test("causal attention: token i gives weight 0 to every later token, rows sum to 1")
    func causal() throws {
        let m = ModelBuilder("causal")
        let attention = MultiHeadAttention(heads: 2, causal: true)
        let y = attention(m.input("x", .f32, [1, 4, 6]))
        let weights = try #require(attention.attentionWeights)
        m.output(y, weights)
        let x = Tensor([1, 4, 6], floats: (0..<24).map { Float($0 % 7) * 0.3 - 1 })
        let w = try #require(try evaluate(try m.build(), inputs: ["x": x])[weights.name]).floats
        for head in 0..<2 {
            for i in 0..<4 {
                let row = (0..<4).map { w[head * 16 + i * 4 + $0] }
                #expect(Swift.abs(row.reduce(0, +) - 1) < 1e-5)
                for j in (i + 1)..<4 { #expect(row[j] == 0, "head \(head) token \(i) sees token \(j)") }
                #expect(row[0...i].allSatisfy { $0 > 0 })
            }
        }
    }

    @Test("gradients: self-attention, causal, cross-attention", arguments: ["self", "causal", "cross"])
    func gradient(_ kind: String) throws {
        try LayerGradient.check("attention \(kind)", samples: 12) { m in
            let x = LayerGradient.input(m, [2, 3, 4])
            switch kind {
            case "self": return MultiHeadAttention(heads: 2)(x)
            case "causal": return MultiHeadAttention(heads: 2, causal: true)(x)
            default: return MultiHeadAttention(heads: 2)(x, attendingTo: LayerGradient.input(m, [2, 2, 4], name: "memory"))
            }
        }
    }

    @Test("full param names replace the automatic ones, and biases can be left out")
    func names() throws {
        let m = ModelBuilder("n")
        let attention = MultiHeadAttention(heads: 1, useBias: false, names: ["query.weight": "wq", "output.weight": "wo"])
        m.output(attention(m.input("x", .f32, [1, 2, 4])))
        #expect(try m.build().params.map(\.name) == ["wq", "attention1.key.weight", "attention1.value.weight", "wo"])
    }
}
