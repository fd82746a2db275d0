import Foundation
import KilnIR
import KilnTestSupport
import Testing

/// Helpers several test targets share live in the KilnTestSupport target (the random-graph
/// generator: these IR tests and the JIT's differential tests), not in files linked between
/// test folders: a symlink is invisible to SwiftPM's dependency graph and to a reader.
struct TestSupportTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    @Test("no file under Tests/ is a symbolic link")
    func noSymlinks() throws {
        let files = FileManager.default.enumerator(at: Self.tests, includingPropertiesForKeys: [.isSymbolicLinkKey])?
            .compactMap { $0 as? URL } ?? []
        #expect(files.count > 100, "found \(files.count) files under \(Self.tests.path)")
        let links = try files.filter { try $0.resourceValues(forKeys: [.isSymbolicLinkKey]).isSymbolicLink == true }
        #expect(links.isEmpty, "\(links.map(\.path))")
    }

    @Test("the shared generator is the support target's: one definition, deterministic per seed")
    func sharedGenerator() throws {
        let needle = "struct " + "RandomGraphGenerator {"  // split, so this file does not match itself
        let definitions = FileManager.default.enumerator(at: Self.tests, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
            .filter { (try? String(contentsOf: $0, encoding: .utf8))?.contains(needle) == true } ?? []
        #expect(definitions.map(\.lastPathComponent) == ["RandomGraphGenerator.swift"])
        #expect(definitions.first?.deletingLastPathComponent().lastPathComponent == "KilnTestSupport")
        #expect(try RandomGraphGenerator.make(seed: 7).text == RandomGraphGenerator.make(seed: 7).text)
    }
}
