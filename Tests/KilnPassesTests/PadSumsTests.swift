import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// Sums of zero-padded pieces that tile an axis become one concatenation (padded when the
/// pieces cover part of the axis), and the graph computes the same values; overlapping pieces,
/// gaps and pads on two axes stay sums.
struct PadSumsTests {
    /// `whole`: four pieces tiling [0, 8) added in the order an LSTM's gate gradients are;
    /// `part`: two pieces tiling [1, 5) of 7; `overlap`, `gap`, `twoAxes`: left alone.
    static let text = """
        graph g {
          input a: f32[3, 2]
          input b: f32[3, 2]
          input c: f32[3, 2]
          input d: f32[3, 2]
          input s: f32[]
          pa = pad(a, before=[0, 6], after=[0, 0])
          pb = pad(b, before=[0, 4], after=[0, 2])
          pc = pad(c, before=[0, 2], after=[0, 4])
          pd = pad(d, before=[0, 0], after=[0, 6])
          whole = add(add(add(pa, pb), pc), pd)
          part = add(pad(a, before=[0, 1], after=[0, 4]), pad(b, before=[0, 3], after=[0, 2]))
          overlap = add(pad(a, before=[0, 1], after=[0, 0]), pad(b, before=[0, 0], after=[0, 1]))
          gap = add(pad(a, before=[0, 0], after=[0, 3]), pad(b, before=[0, 3], after=[0, 0]))
          twoAxes = add(pad(a, before=[1, 0], after=[0, 0]), pad(b, before=[0, 0], after=[1, 0]))
          scalars = add(pad(s, before=[], after=[]), pad(s, before=[], after=[]))
          output whole
          output part
          output overlap
          output gap
          output twoAxes
          output scalars
        }
        """

    @Test("pieces tiling an axis become concat (and pad); overlaps, gaps and two padded axes stay sums")
    func rewrites() throws {
        let g = try Simplify().run(try inferTypes(try Parser.parse(Self.text)))
        try Verifier().verify(g)
        let byName = Dictionary(g.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["whole"]?.op == .concat)
        #expect(byName["whole"]?.operands == ["d", "c", "b", "a"])
        #expect(byName["whole"]?.attributes.int("axis") == 1)
        let part = byName["part"]
        #expect(part?.op == .pad && part?.attributes.ints("before") == [0, 1] && part?.attributes.ints("after") == [0, 2])
        #expect(byName[part?.operands.first ?? "?"]?.op == .concat)
        #expect(byName[part?.operands.first ?? "?"]?.operands == ["a", "b"])
        for name in ["overlap", "gap", "twoAxes", "scalars"] { #expect(byName[name]?.op == .add, "\(name)") }
        // The pads and adds that fed `whole` are gone.
        #expect(!g.nodes.contains { ["pa", "pb", "pc", "pd"].contains($0.name) })
    }

    @Test("the rewritten graph computes what the original does")
    func sameValues() throws {
        let original = try inferTypes(try Parser.parse(Self.text))
        let simplified = try Simplify().run(original)
        var feeds: [String: Tensor] = [:]
        for (i, name) in ["a", "b", "c", "d"].enumerated() { feeds[name] = Tensor([3, 2], floats: (0..<6).map { Float($0 * 10 + i + 1) }) }
        feeds["s"] = Tensor([], floats: [7])
        var s1 = initialState(for: original, seed: 3), s2 = s1
        let want = try Interpreter(graph: original).run(inputs: feeds, state: &s1, step: 0)
        let got = try Interpreter(graph: simplified).run(inputs: feeds, state: &s2, step: 0)
        for name in ["whole", "part", "overlap", "gap", "twoAxes", "scalars"] {
            let w = want[name]?.floats ?? [], g = got[name]?.floats ?? []
            #expect(!w.isEmpty && w == g, "\(name)")
        }
    }
}
