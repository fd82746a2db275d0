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
}
