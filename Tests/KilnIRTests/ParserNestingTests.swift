import KilnIR
import Testing

/// The parser's nesting bound: deep `relu(relu(…))` is a located error, not a stack overflow.
struct ParserNestingTests {
    func nested(_ depth: Int) -> String {
        "graph g {\n  input x: f32[2]\n  y = " + String(repeating: "relu(", count: depth) + "x"
            + String(repeating: ")", count: depth) + "\n  output y\n}\n"
    }

    @Test("15,400 nested calls are refused at the documented limit with a location")
    func tooDeep() {
        do {
            _ = try Parser.parse(nested(15_400), file: "deep.kiln")
            Issue.record("accepted")
        } catch let d as Diagnostic {
            #expect(d.message == "calls nested deeper than \(Parser.maximumNesting) levels; name intermediate values instead")
            #expect(d.location == SourceLocation(file: "deep.kiln", line: 3, column: 7 + 5 * Parser.maximumNesting))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("nesting up to the limit parses")
    func atTheLimit() throws {
        let g = try Parser.parse(nested(Parser.maximumNesting))
        #expect(g.nodes.count == Parser.maximumNesting)
    }
}
