import KilnIR
import Testing

/// `kiln check` reports every independent error of a file, with "did you mean" hints.
struct ParserRecoveryTests {
    static let fourMistakes = """
        graph g {
          input x: f32[2, 3]
          a = leaky_rel(x)
          b = add(a, x)
          c = softmax(x, axs=1)
          d = add(x, yy)
          e = matmul(x, x)
          f = relu(e)
          output f, b
        }
        """

    func messages(_ diagnostics: [Diagnostic]) -> [String] {
        diagnostics.map { "\($0.location.map { "\($0.line):\($0.column)" } ?? "-"): \($0.message)" }
    }

    @Test("independent syntax errors are all reported; uses of a failed definition are not")
    func syntaxErrors() {
        let (graph, diagnostics) = Parser.parseReportingAll(Self.fourMistakes, file: "four.kiln")
        #expect(messages(diagnostics) == [
            "3:7: unknown op 'leaky_rel' (did you mean 'leaky_relu'?)",
            "5:7: softmax has no attribute 'axs' (did you mean 'axis'?)",
            "6:14: use of undefined value 'yy'",
        ])
        // The type error of a statement that parsed is found in the partial graph.
        #expect(messages(typeErrors(graph)) == ["7:7: matmul: inner dimensions differ: f32[2, 3] × f32[2, 3] (3 vs 2)"])
    }

    @Test("a correct file gives no diagnostics and the same graph as parse")
    func clean() throws {
        let text = "graph g {\n  input x: f32[2]\n  y = relu(x)\n  output y\n}\n"
        let (graph, diagnostics) = Parser.parseReportingAll(text)
        #expect(diagnostics.isEmpty)
        #expect(graph == (try Parser.parse(text)))
    }

    @Test("an error inside a fused body skips the whole body")
    func fusedBody() {
        let text = "graph g {\n  input x: f32[2]\n  y = fused_k(x) {\n    t = rleu(x)\n    y = exp(t)\n  }\n  z = nope(x)\n  output x\n}\n"
        #expect(messages(Parser.parseReportingAll(text).diagnostics) == [
            "4:9: unknown op 'rleu' in a fused body (did you mean 'relu'?)", "7:7: unknown op 'nope'",
        ])
    }

    @Test("the number of errors is bounded")
    func limit() {
        let body = (0..<50).map { "  v\($0) = bad\($0)(x)" }.joined(separator: "\n")
        let diagnostics = Parser.parseReportingAll("graph g {\n  input x: f32[2]\n\(body)\n  output x\n}\n", limit: 5).diagnostics
        #expect(diagnostics.count == 6)
        #expect(diagnostics.last?.message == "too many errors (5); stopping")
    }

    @Test("type errors: a failed node's readers are skipped, independent nodes still reported")
    func independentTypeErrors() throws {
        let graph = try Parser.parse("graph g {\n  input x: f32[2, 3]\n  a = matmul(x, x)\n  b = relu(a)\n  c = add(x, reshape(x, shape=[5]))\n  output b, c\n}\n")
        #expect(messages(typeErrors(graph)).count == 2)
    }

    @Test("did you mean: ops, value names, outputs; nothing for distant words", arguments: [
        ("y = leaky_rel(x)", "unknown op 'leaky_rel' (did you mean 'leaky_relu'?)"),
        ("y = relu(inptu)", "use of undefined value 'inptu' (did you mean 'input'?)"),
        ("y = zzz(x)", "unknown op 'zzz'"),
    ])
    func suggestions(_ line: String, _ expected: String) {
        let text = "graph g {\n  input input: f32[2]\n  input x: f32[2]\n  \(line)\n  output x\n}\n"
        #expect(Parser.parseReportingAll(text).diagnostics.map(\.message) == [expected])
    }

    @Test("edit distance picks the closest candidate")
    func closest() {
        #expect(Suggestions.closest(to: "softmx", among: ["softmax", "log_softmax", "sum"]) == "softmax")
        #expect(Suggestions.closest(to: "x", among: ["y"]) == nil)
    }
}
