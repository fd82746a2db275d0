import Foundation
import KilnIR
import KilnPasses
import Testing

/// Golden IR tests: each `Golden/NAME.kiln` starts with directives
///   # passes: infer-shapes,differentiate
///   # loss: loss            (any other `# key: value` becomes a pass option)
/// and `Golden/NAME.expected` holds the exact printed IR after those passes.
/// Set KILN_UPDATE_GOLDEN=1 to rewrite the expected files from the current output.
struct GoldenTests {
    static let directory = Bundle.module.resourceURL!.appendingPathComponent("Golden")

    /// A listing that fails yields one case naming the error (which then fails), never an empty list.
    static var cases: [String] {
        do {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            return names.filter { $0.hasSuffix(".kiln") }.map { String($0.dropLast(5)) }.sorted()
        } catch {
            return ["<cannot list Golden/: \(error)>"]
        }
    }

    @Test("the golden list is not empty")
    func goldenIsListed() {
        #expect(Self.cases.count >= 14, "Golden/ lists \(Self.cases)")
    }

    @Test("golden IR after passes", arguments: cases)
    func golden(name: String) throws {
        let source = try String(contentsOf: Self.directory.appendingPathComponent("\(name).kiln"), encoding: .utf8)
        var directives: [String: String] = [:]
        for line in source.split(separator: "\n") where line.hasPrefix("# ") {
            let body = line.dropFirst(2)
            guard let colon = body.firstIndex(of: ":") else { continue }
            directives[String(body[..<colon])] = String(body[body.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
        let pipeline = try #require(directives["passes"], "\(name).kiln has no '# passes:' line")
        var manager = PassManager(try PassRegistry.pipeline(pipeline, options: directives))
        let graph = try manager.run(try Parser.parse(source, file: "\(name).kiln"))
        let actual = graph.text
        // The printed result must itself parse back to the same graph.
        #expect(try Parser.parse(actual) == graph)

        let expectedURL = Self.directory.appendingPathComponent("\(name).expected")
        if ProcessInfo.processInfo.environment["KILN_UPDATE_GOLDEN"] != nil {
            let sourceDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
            try actual.write(to: sourceDir.appendingPathComponent("\(name).expected"), atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(actual == expected, "golden mismatch for \(name); rerun with KILN_UPDATE_GOLDEN=1 to accept")
    }
}
