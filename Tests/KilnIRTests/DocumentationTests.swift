import Foundation
import KilnIR
import Testing

/// Docs/IR.md stays true: its op table is checked against the op table in the code, and its
/// dump excerpt against what the printer really writes.
struct DocumentationTests {
    static func document() throws -> String {
        try String(contentsOf: Repository.root.appendingPathComponent("Docs/IR.md"), encoding: .utf8)
    }

    static var opRows: [String] {
        ((try? document()) ?? "").split(separator: "\n").map(String.init).filter { $0.hasPrefix("| `") }
    }

    @Test("every op of the op table has a row with its exact operands, attributes and a result type", arguments: OpKind.allCases)
    func opDocumented(_ op: OpKind) throws {
        let row = Self.opRows.first { $0.hasPrefix("| `\(op.name)` |") }
        let found = try #require(row, "\(op.name) is missing from Docs/IR.md")
        #expect(found.hasPrefix(op.signatureRow + " "), "stale row for \(op.name); expected it to start with\n\(op.signatureRow)")
        let resultColumn = found.dropFirst(op.signatureRow.count).trimmingCharacters(in: .whitespaces)
        #expect(resultColumn.count > 3 && resultColumn.hasSuffix("|"), "\(op.name) has no result type rule")
    }

    @Test("the op table lists only real ops, each once, in op table order")
    func noStaleOps() {
        let names = Self.opRows.map { $0.split(separator: "`")[1] }.map(String.init)
        #expect(names == OpKind.allCases.map(\.name))
    }

    @Test("the dump excerpt in Docs/IR.md is what kiln dump prints for mlp")
    func dumpExcerpt() throws {
        let doc = try Self.document()
        let dump = try Repository.graph("mlp.kiln").text
        for line in ["  %0: f32[128, 256] = matmul(x, w1)", "  %1: f32[128, 256] = add(%0, b1)", "  h1: f32[128, 256] = relu(%1)",
                     "  logits: f32[128, 10] = add(%6, b3)", "  loss: f32[] = softmax_cross_entropy(logits, labels)"] {
            #expect(dump.contains(line + "\n"), "mlp dump no longer has: \(line)")
            #expect(doc.contains(line + "\n"), "Docs/IR.md no longer shows: \(line)")
        }
    }
}
