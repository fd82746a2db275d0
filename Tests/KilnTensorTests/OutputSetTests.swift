import Foundation
import KilnIR
import KilnTensor
import Testing

/// `kiln run --output-dir` writes its outputs as a set: all of them or none.
struct OutputSetTests {
    @Test("committed files replace the old ones; unrelated files stay")
    func commit() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/a.npy", contents: Data([1]))
        _ = FileManager.default.createFile(atPath: directory + "/keep.txt", contents: Data([2]))
        let set = try OutputSet(directory: directory)
        try set.add("a.npy", bytes: [3])
        try set.add("b.npy", bytes: [4])
        try set.commit()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["a.npy", "b.npy", "keep.txt"])
        #expect(FileManager.default.contents(atPath: directory + "/a.npy") == Data([3]))
    }

    @Test("a set abandoned part-way leaves the directory as it was")
    func abandoned() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/a.npy", contents: Data([1]))
        do {
            let set = try OutputSet(directory: directory)
            try set.add("a.npy", bytes: [9])
            #expect(throws: Diagnostic.self) { try set.add("../escape", bytes: [9]) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["a.npy"])
        #expect(FileManager.default.contents(atPath: directory + "/a.npy") == Data([1]))
    }

    @Test("staging directories of dead processes are removed")
    func stale() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/.kiln-staging-2147483000-5", withIntermediateDirectories: false)
        _ = FileManager.default.createFile(atPath: directory + "/.kiln-staging-2147483000-5/x.npy", contents: Data([1]))
        let set = try OutputSet(directory: directory)
        try set.commit()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [])
    }

    @Test("an unusable directory is a plain message naming it")
    func unusable() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/f", contents: Data())
        #expect(throws: Diagnostic("cannot use '\(directory)/f' as a directory: it exists and is not a directory")) { try OutputSet(directory: directory + "/f") }
    }

    @Test("an output named like a device, FIFO or symlink is refused before anything is staged; an empty directory path is an error")
    func specialFiles() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made = makeSpecialFiles(in: directory)
        for (name, kind) in made {
            let set = try OutputSet(directory: directory)
            try set.add("fine.npy", bytes: [1])
            #expect(throws: Diagnostic.self) { try set.add(name, bytes: [2]) }
            #expect(fileType("\(directory)/\(name)") == kind, "\(name) was replaced")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/fine.npy"))
        #expect(throws: Diagnostic("cannot use an empty path as a directory")) { try OutputSet(directory: "") }
    }

    @Test("a replaced output keeps its mode")
    func keepsMode() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/a.npy", contents: Data([1]), attributes: [.posixPermissions: 0o600])
        let set = try OutputSet(directory: directory)
        try set.add("a.npy", bytes: [2])
        try set.commit()
        #expect(ownership(directory + "/a.npy")?.mode == 0o600)
    }
}
