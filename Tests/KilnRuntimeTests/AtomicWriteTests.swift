import Foundation
import KilnIR
import KilnRuntime
import Testing

struct AtomicWriteTests {
    @Test("a write replaces the file whole and leaves no temporary file behind")
    func replaces() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/w.npy"
        try NumPyFormat.write(Tensor([3], floats: [1, 2, 3]), to: path)
        try NumPyFormat.write(Tensor([2], ints: [4, 5]), to: path)
        try NumPyFormat.writeArchive(["a": Tensor.scalar(1)], to: directory + "/a.npz")
        try SafetensorsFormat.write(["a": Tensor.scalar(1)], to: directory + "/a.safetensors")
        #expect(try NumPyFormat.read(path: path).ints == [4, 5])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["a.npz", "a.safetensors", "w.npy"])
    }

    @Test("a failed write keeps what was there and cleans up its temporary file")
    func failure() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/taken", withIntermediateDirectories: false)
        #expect(throws: Diagnostic("cannot write '\(directory)/taken': Is a directory")) {
            try NumPyFormat.write(Tensor.scalar(1), to: directory + "/taken")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["taken"])
        #expect(throws: Diagnostic("cannot write '\(directory)/missing/x.npy': cannot create a temporary file in '\(directory)/missing': No such file or directory")) {
            try NumPyFormat.write(Tensor.scalar(1), to: directory + "/missing/x.npy")
        }
    }

    @Test("reading a missing file or a directory says why")
    func readErrors() {
        #expect(throws: Diagnostic("cannot read '/nonexistent/x.npy': No such file or directory")) { try NumPyFormat.read(path: "/nonexistent/x.npy") }
        #expect(throws: Diagnostic("cannot read '/tmp': Is a directory")) { try SafetensorsFormat.read(path: "/tmp") }
    }

    @Test("devices, pipes and sockets are refused instead of read without end", arguments: ["/dev/zero", "/dev/urandom", "/dev/null"])
    func nonRegular(_ path: String) {
        let message = "cannot read '\(path)': not a regular file (devices, pipes and sockets are refused)"
        #expect(throws: Diagnostic(message)) { try NumPyFormat.read(path: path) }
        #expect(throws: Diagnostic(message)) { try SafetensorsFormat.read(path: path) }
        #expect(throws: Diagnostic(message)) { try NumPyFormat.readArchive(path: path) }
    }

    @Test("a file longer than the read limit is refused before it is read")
    func limit() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try AtomicFile.write([UInt8](repeating: 7, count: 100), to: directory + "/f")
        #expect(try AtomicFile.read(directory + "/f", limit: 100).count == 100)
        #expect(throws: Diagnostic("cannot read '\(directory)/f': it has 100 bytes, more than the limit of 99")) {
            try AtomicFile.read(directory + "/f", limit: 99)
        }
    }

    @Test("temporary files of dead processes are removed by the next write; a live process's are kept")
    func staleTemporaries() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A pid that cannot exist (above Linux's pid_max limit of 2^22) stands for a dead process.
        let dead = ".w.npy.tmp-2147483000-12345", live = ".w.npy.tmp-\(getpid())-777", other = ".v.npy.tmp-2147483000-1"
        for name in [dead, live, other] { _ = FileManager.default.createFile(atPath: "\(directory)/\(name)", contents: Data([1])) }
        try NumPyFormat.write(Tensor.scalar(1), to: directory + "/w.npy")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == [live, other, "w.npy"].sorted())
    }

    @Test("makeDirectory names the path and the reason")
    func makeDirectoryErrors() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try AtomicFile.makeDirectory(directory + "/a/b/c")
        #expect(FileManager.default.fileExists(atPath: directory + "/a/b/c"))
        _ = FileManager.default.createFile(atPath: directory + "/file", contents: Data())
        #expect(throws: Diagnostic("cannot use '\(directory)/file' as a directory: it exists and is not a directory")) { try AtomicFile.makeDirectory(directory + "/file") }
        #expect(throws: Diagnostic("cannot create directory '\(directory)/file/x': Not a directory")) { try AtomicFile.makeDirectory(directory + "/file/x") }
    }
}
