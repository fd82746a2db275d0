import KilnIR
import KilnTraining
import Testing

/// `--freeze` patterns: names and globs over the trainable params.
struct ParamSelectionTests {
    static let graph = """
        graph g {
          input x: f32[2, 3]
          param enc_w: f32[3, 3] = zeros
          param enc_b: f32[3] = zeros
          param dec_w: f32[3, 3] = zeros
          state running: f32[3] = zeros
          loss = reduce_sum(add(matmul(matmul(x, enc_w), dec_w), enc_b), axes=[0, 1])
          output loss as loss
        }
        """

    @Test("globs and names select trainable params in declaration order", arguments: [
        ("enc_*", ["enc_w", "enc_b"]), ("*_w", ["enc_w", "dec_w"]), ("dec_w,enc_?", ["enc_w", "enc_b", "dec_w"]), ("*", ["enc_w", "enc_b", "dec_w"]),
    ])
    func select(_ pattern: String, _ expected: [String]) throws {
        #expect(try ParamSelection.select(pattern, in: try Parser.parse(Self.graph)) == expected)
    }

    @Test("a pattern matching nothing (state is not trainable) is an error listing the params")
    func noMatch() throws {
        do {
            _ = try ParamSelection.select("running", in: try Parser.parse(Self.graph))
            Issue.record("expected an error")
        } catch let d as Diagnostic {
            #expect(d.message == "'running' matches no trainable param of graph 'g' (params: enc_w, enc_b, dec_w)")
        }
    }

    @Test("glob corner cases")
    func globs() {
        #expect(ParamSelection.matches("abc", "a*c") && ParamSelection.matches("ac", "a*c") && ParamSelection.matches("abbbc", "a*b*c"))
        #expect(!ParamSelection.matches("abd", "a*c") && !ParamSelection.matches("ab", "a?c") && ParamSelection.matches("", "*"))
    }
}
