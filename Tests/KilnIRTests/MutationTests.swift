import Foundation
import KilnIR
import KilnTestSupport
import Testing

/// Seeded mutations of real graphs (characters dropped, duplicated, swapped, replaced by
/// symbols, digits, huge numbers and keywords): whatever the text, parsing, verifying and
/// inferring either succeed — and then the graph round-trips — or fail with a `Diagnostic`
/// that has a location. A trap here would take the whole test process down.
struct MutationTests {
    static let insertions = ["(", ")", "[", "]", ",", "=", ":", "-", "@", "+", "{", "}", "0", "9", "-1", "%", "%7", ".5", "1e400",
                             "99999999999999999999", "4611686018427387904", "nan", "inf", "x", "f32[", "i32", "axis=", "shape=[",
                             " output ", " update ", " param ", " state ", "fused_add(", " = ", "#", "\n", "reshape(", "1.5"]

    @Test("mutated graphs never trap; every failure is a located diagnostic", arguments: Repository.graphFiles)
    func mutations(_ file: String) throws {
        let original = Array(try String(contentsOf: Repository.root.appendingPathComponent("Graphs/\(file)"), encoding: .utf8))
        var rng = RandomGraphGenerator.Rng(state: file.utf8.reduce(UInt64(17)) { $0 &* 31 &+ UInt64($1) })
        for _ in 0..<300 {
            var chars = original
            for _ in 0..<(1 + rng.next(3)) {
                let at = rng.next(chars.count)
                switch rng.next(4) {
                case 0: chars.removeSubrange(at..<Swift.min(chars.count, at + 1 + rng.next(6)))
                case 1: chars.insert(contentsOf: Array(rng.pick(Self.insertions)), at: at)
                case 2: if at + 1 < chars.count { chars.swapAt(at, at + 1) }
                default: if chars[at].isNumber { chars.replaceSubrange(at...at, with: Array(rng.pick(["0", "7", "-3", "100000000"]))) }
                }
            }
            let text = String(chars)
            do {
                let graph = try inferTypes(try Parser.parse(text, file: "m.kiln"))
                try Verifier().verify(graph)
                let printed = graph.text
                let reparsed = try inferTypes(try Parser.parse(printed))
                #expect(reparsed == graph, "mutant of \(file) accepted but does not round-trip:\n\(text)")
                #expect(reparsed.text == printed)
            } catch let d as Diagnostic {
                #expect(d.location?.file == "m.kiln", "diagnostic without a location: \(d)\n\(text)")
            } catch {
                Issue.record("not a Diagnostic: \(error)\n\(text)")
            }
        }
    }
}
