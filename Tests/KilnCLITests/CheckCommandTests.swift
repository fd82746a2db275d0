import Foundation
import Testing

/// `kiln check` end to end: every independent error, deep nesting, control characters.
struct CheckCommandTests {
    @Test("four mistakes give four located diagnostics, with a suggestion")
    func everyError() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = "graph g {\n  input x: f32[2, 3]\n  a = leaky_rel(x)\n  b = add(a, x)\n  c = softmax(x, axs=1)\n  d = add(x, yy)\n  e = matmul(x, x)\n  output e, b\n}\n"
        let path = try writeFile(text, "four.kiln", in: directory)
        let r = try runKiln(["check", path])
        #expect(r.status == 1)
        #expect(r.err == """
            \(path):3:7: error: unknown op 'leaky_rel' (did you mean 'leaky_relu'?)
            \(path):5:7: error: softmax has no attribute 'axs' (did you mean 'axis'?)
            \(path):6:14: error: use of undefined value 'yy'
            \(path):7:7: error: matmul: inner dimensions differ: f32[2, 3] × f32[2, 3] (3 vs 2)

            """)
    }

    @Test("15,400 nested calls: a diagnostic, not a crash")
    func deepNesting() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = "graph g {\n  input x: f32[2]\n  y = " + String(repeating: "relu(", count: 15_400) + "x" + String(repeating: ")", count: 15_400) + "\n  output y\n}\n"
        let path = try writeFile(text, "deep.kiln", in: directory)
        let r = try runKiln(["check", path])
        #expect(r.status == 1)
        #expect(r.err == "\(path):3:1287: error: calls nested deeper than 256 levels; name intermediate values instead\n")
    }
}
