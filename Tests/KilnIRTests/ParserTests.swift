import KilnIR
import Testing

/// The grammar corners Docs/IR.md states, each checked against the parser.
struct ParserTests {
    func parse(_ body: String) throws -> Graph {
        try inferTypes(try Parser.parse("graph g {\n  input x: f32[2, 3]\n\(body)\n}\n", file: "t.kiln"))
    }

    @Test("statement words are keywords only at the start of a statement and not before '=' or ':'")
    func keywordsAsNames() throws {
        let g = try parse("  output = relu(x)\n  input: f32[2, 3] = exp(output)\n  output output, input")
        #expect(g.nodes.map(\.name) == ["output", "input"])
        #expect(g.outputs == ["output", "input"])
    }

    @Test("nested calls and literals become %N nodes in evaluation order")
    func temporaries() throws {
        let g = try parse("  y = add(mul(x, 2), neg(-1.5e-3))\n  output y")
        #expect(g.nodes.map(\.name) == ["%0", "%1", "%2", "%3", "y"])
        #expect(g.nodes.map(\.op) == [.constant, .mul, .constant, .neg, .add])
        #expect(g.nodes[2].attributes["value"] == .float(-1.5e-3))
        #expect(g.nodes[0].type == TensorType(.f32, .scalar))
    }

    /// The verifier checks an annotation only once its operands' types are known; `inferTypes`
    /// checks the rest (an annotated loss after unannotated nodes was refused as "unknown").
    @Test("an annotation after unannotated nodes is checked against the inferred type")
    func annotationAfterInferredNodes() throws {
        let text = "graph g {\n  input x: f32[2, 3]\n  s = reduce_sum(x, axes=[0, 1])\n  loss: f32[] = mul(s, 0.01)\n  output loss\n}\n"
        let parsed = try Parser.parse(text, file: "t.kiln")
        try Verifier().verify(parsed)
        let g = try inferTypes(parsed)
        #expect(g.nodes.last?.type == TensorType(.f32, .scalar))
        do {
            _ = try parse("  s = reduce_sum(x, axes=[0, 1])\n  loss: f32[2] = mul(s, 0.01)\n  output loss")
            Issue.record("a wrong annotation was accepted")
        } catch let error as Diagnostic {
            #expect(error.description.contains("'loss' is annotated f32[2] but mul gives f32[]"), "\(error)")
            #expect(error.description.contains("t.kiln:4:"), "\(error)")
        }
    }

    @Test("a definition may be a bare literal, -inf included; .5 and exponents are numbers")
    func literalDefinitions() throws {
        let g = try parse("  a = -inf\n  b = .5\n  c = 2E+2\n  output a, b, c")
        #expect(g.nodes.map { $0.attributes["value"] } == [.float(-.infinity), .float(0.5), .float(200)])
    }

    @Test("a bare inf in operand position is a name")
    func bareInfIsAName() {
        #expect(throws: Diagnostic("use of undefined value 'inf'", at: SourceLocation(file: "t.kiln", line: 3, column: 14))) {
            try parse("  y = mul(x, inf)\n  output y")
        }
    }

    @Test("an integer is accepted for a float attribute and for a list attribute")
    func attributeCoercion() throws {
        let g = try parse("  a = leaky_relu(x, alpha=1)\n  b = reduce_sum(x, axes=1)\n  output a, b")
        #expect(g.nodes[0].attributes["alpha"] == .float(1))
        #expect(g.nodes[1].attributes["axes"] == .ints([1]))
        #expect(g.text.contains("a: f32[2, 3] = leaky_relu(x, alpha=1.0)"))
    }

    @Test("nan and inf attributes print and parse back to the same graph")
    func nonFiniteAttributes() throws {
        let g = try parse("  a = leaky_relu(x, alpha=nan)\n  b = elu(x, alpha=-inf)\n  output a, b")
        #expect(g.text.contains("alpha=nan") && g.text.contains("alpha=-inf"))
        let reparsed = try inferTypes(try Parser.parse(g.text))
        #expect(reparsed == g)
        try Verifier().verify(reparsed)
    }

    @Test("placements are read and dropped; comments run to the end of the line")
    func placementsAndComments() throws {
        let g = try parse("  y: f32[2, 3] @arena+128 = exp(x) # exp(\n  # a whole-line comment\n  output y")
        #expect(g.nodes.count == 1)
        #expect(g.text == "graph g {\n  input x: f32[2, 3]\n  y: f32[2, 3] = exp(x)\n  output y\n}\n")
    }

    @Test("pooling stride defaults to the window and is left out when equal")
    func sameAsDefault() throws {
        let g = try parse("  p = max_pool2d(reshape(x, shape=[1, 1, 2, 3]), window=[1, 1], stride=[1, 1])\n  output p")
        #expect(g.nodes[1].attributes["stride"] == .ints([1, 1]))
        #expect(g.text.contains("= max_pool2d(%0, window=[1, 1])\n"))
    }

    @Test("diagnostics print as file:line:col: error: message")
    func diagnosticFormat() {
        do {
            _ = try parse("  y = add(x, reshape(x, shape=[3, 2]))\n  output y")
            Issue.record("accepted")
        } catch {
            #expect("\(error)" == "t.kiln:3:7: error: add: cannot broadcast f32[2, 3] and f32[3, 2]")
        }
    }
}
