import Foundation
import Testing

/// `kiln check` end to end: every independent error, deep nesting, control characters.
struct CheckCommandTests {
    @Test("a file that is not UTF-8 gets the line and column of the first bad byte")
    func notUTF8() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/latin1.kiln"
        // "café" in Latin-1: 0xE9 is not valid UTF-8 here.
        #expect(FileManager.default.createFile(atPath: path, contents: Data("graph g {\n  input x: f32[2]\n  y = relu(x) # caf".utf8) + Data([0xE9, 0x0A]) + Data("}\n".utf8)))
        let r = try runKiln(["check", path])
        #expect(r.status == 1)
        #expect(r.err == "\(path):3:20: error: not UTF-8 text: byte 0xE9 does not start or continue a UTF-8 character (.kiln files are UTF-8)\n")
    }

    @Test("a FIFO given as the graph is refused at once (it used to block in open)")
    func fifo() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(mkfifo(directory + "/pipe.kiln", 0o644) == 0)
        // Nothing opens the other end: before the fix kiln blocked in open() for ever.
        let r = try runKiln(["check", directory + "/pipe.kiln"])
        #expect(r.status == 1 && r.err == "error: cannot read '\(directory)/pipe.kiln': not a regular file (devices, pipes and sockets are refused)\n", "\(r.err)")
    }

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
