import Foundation
import Testing
@testable import kiln

/// The 64 MiB limit on a `.kiln` file (Docs/RELIABILITY.md, Limits), from a file and from
/// standard input. The over-long files are sparse, in a temporary directory.
struct GraphFileLimitTests {
    static let text = "graph g {\n input x: f32[2]\n y = relu(x)\n output y\n}\n"

    /// A sparse file of `bytes` bytes that starts with a valid graph (zeros after it).
    static func file(_ bytes: Int, in directory: String) throws -> String {
        let path = "\(directory)/big.kiln"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.text.utf8)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(bytes))
        try handle.close()
        return path
    }

    @Test("a .kiln file one byte over 64 MiB is refused before it is read")
    func fileOverLimit() throws {
        #expect(GraphFile.maximumBytes == 64 << 20)
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try Self.file(GraphFile.maximumBytes + 1, in: dir)
        let r = try runKiln(["check", path])
        #expect(r.status == 1)
        #expect(r.err == "error: cannot read '\(path)': it has 67108865 bytes, more than the limit of 67108864\n")
        // The same graph, short, is fine: the refusal is the size, not the content.
        let small = try Self.file(Self.text.utf8.count, in: dir)
        #expect(try runKiln(["check", small]).status == 0)
    }

    @Test("standard input over 64 MiB is refused")
    func standardInputOverLimit() throws {
        let dir = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try Self.file(GraphFile.maximumBytes + 1, in: dir)
        let process = Process()
        process.executableURL = kilnBinary
        process.arguments = ["check", "-"]
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(message.contains("standard input is longer than the limit of 67108864 bytes for a graph"), "\(message)")
    }
}
