import Foundation
import KilnIR
import Testing

/// Every file in Malformed/ starts with `# expect: LINE:COL: MESSAGE`: parsing, verifying and
/// type-checking it must fail with exactly that diagnostic. Adding a case is adding a file.
struct MalformedInputTests {
    static let directory = Bundle.module.resourceURL?.appendingPathComponent("Malformed")

    /// A missing or unreadable directory yields one case naming the error (which then fails),
    /// never an empty list that would run zero cases.
    static var files: [String] {
        guard let directory else { return ["<no Malformed/ resource>"] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".kiln") }.sorted()
        } catch {
            return ["<cannot list Malformed/: \(error)>"]
        }
    }

    @Test("the malformed-input list is not empty")
    func filesAreListed() {
        #expect(Self.files.count >= 50, "Malformed/ lists \(Self.files)")
    }

    @Test("malformed input gives the exact diagnostic", arguments: files)
    func malformed(_ file: String) throws {
        let url = try #require(Self.directory).appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        let firstLine = try #require(text.split(separator: "\n").first)
        let expected = try #require(firstLine.hasPrefix("# expect: ") ? String(firstLine.dropFirst(10)) : nil, "\(file) has no '# expect:' line")
        do {
            let graph = try Parser.parse(text, file: file)
            try Verifier().verify(graph)
            _ = try inferTypes(graph)
            Issue.record("\(file) was accepted")
        } catch let d as Diagnostic {
            let location = try #require(d.location, "\(file): diagnostic without a location: \(d)")
            #expect(location.file == file)
            #expect("\(location.line):\(location.column): \(d.message)" == expected)
        }
    }

    @Test("there are at least twenty malformed cases")
    func enoughCases() { #expect(Self.files.count >= 20) }
}
