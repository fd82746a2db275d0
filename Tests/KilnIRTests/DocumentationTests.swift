import Foundation
import KilnIR
import Testing

struct DocumentationTests {
    @Test("Docs/IR.md lists every op of the op table")
    func everyOpDocumented() throws {
        let doc = try String(contentsOf: Repository.root.appendingPathComponent("Docs/IR.md"), encoding: .utf8)
        for op in OpKind.allCases { #expect(doc.contains("| `\(op.name)` |"), "\(op.name) is missing from Docs/IR.md (run kiln ops)") }
    }
}
