import KilnIR
import Testing

struct OutputRoleTests {
    @Test("'output NAME as ROLE' parses, prints back and is looked up by role")
    func roundTrip() throws {
        let text = "graph g {\n  input x: f32[2, 3]\n  s = relu(x)\n  loss = reduce_sum(s, axes=[0, 1])\n  output loss as loss, s as logits\n}\n"
        let g = try Parser.parse(text)
        #expect(g.output(withRole: .loss) == "loss" && g.output(withRole: .logits) == "s" && g.output(withRole: .reconstruction) == nil)
        #expect(g.text.contains("  output loss as loss\n  output s as logits\n"))
        #expect(try Parser.parse(g.text) == g)
        var plain = g
        plain.outputRoles = [:]
        #expect(plain != g, "roles are part of the graph's meaning")
    }

    @Test("unknown and duplicate roles are located errors; 'as' still names a value")
    func errors() throws {
        #expect(throws: Diagnostic.self) { try Parser.parse("graph g {\n  input x: f32[2]\n  output x as scores\n}\n") }
        #expect(throws: Diagnostic.self) { try Parser.parse("graph g {\n  input x: f32[2]\n  y = relu(x)\n  output x as loss, y as loss\n}\n") }
        let g = try Parser.parse("graph g {\n  input x: f32[2]\n  output x\n  as = relu(x)\n  output as as prediction\n}\n")
        #expect(g.outputs == ["x", "as"] && g.output(withRole: .prediction) == "as")
    }
}
