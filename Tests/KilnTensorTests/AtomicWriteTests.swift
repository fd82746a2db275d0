import Foundation
import KilnIR
import KilnTensor
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

    /// Thrown by a data producer part-way through a write.
    struct ProducerFailed: Error {}

    @Test("a write whose data producer fails part-way keeps the old file whole and leaves no temporary file")
    func failure() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/w.bin"
        try AtomicFile.write([1, 2, 3], to: path)
        // A megabyte reaches the disk before the failure, so a non-atomic write (truncate, then
        // write in place) would leave a mix of old and new bytes under the name.
        #expect(throws: ProducerFailed.self) {
            try AtomicFile.write(to: path) { append in
                try append([UInt8](repeating: 9, count: 1 << 20))
                throw ProducerFailed()
            }
        }
        #expect(FileManager.default.contents(atPath: path) == Data([1, 2, 3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["w.bin"])
        // A producer that appends in pieces and returns writes all of them.
        try AtomicFile.write(to: path) { append in try append([4]); try append([5, 6]) }
        #expect(FileManager.default.contents(atPath: path) == Data([4, 5, 6]))
    }

    @Test("a directory destination or a missing parent is an error naming the path")
    func unusableDestination() throws {
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

    @Test("an empty path, or one ending in '/', is refused (never '/NAME' or the parent directory)")
    func emptyPath() {
        #expect(throws: Diagnostic("cannot write to an empty path")) { try AtomicFile.write([1], to: "") }
        #expect(throws: Diagnostic("cannot write to an empty path")) { try SafetensorsFormat.write(["a": Tensor.scalar(1)], to: "") }
        #expect(throws: Diagnostic("cannot write 'nowhere/': the path names a directory, not a file")) { try AtomicFile.write([1], to: "nowhere/") }
        #expect(throws: Diagnostic("cannot use an empty path as a directory")) { try AtomicFile.makeDirectory("") }
        #expect(throws: Diagnostic("cannot read an empty path")) { try AtomicFile.read("") }
        #expect(!FileManager.default.fileExists(atPath: "nowhere"))
    }

    @Test("devices, FIFOs and symbolic links are never replaced by a write")
    func specialDestinations() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made = makeSpecialFiles(in: directory)
        #expect(made.count == (geteuid() == 0 ? 4 : 3), "could not make the special files: \(made)")
        for (name, kind) in made {
            let path = "\(directory)/\(name)"
            let expected = kind == S_IFLNK
                ? "cannot write '\(path)': it is a symbolic link (Kiln replaces only regular files; name the file it points to)"
                : "cannot write '\(path)': not a regular file (devices, pipes and sockets are never replaced)"
            #expect(throws: Diagnostic(expected)) { try NumPyFormat.write(Tensor.scalar(1), to: path) }
            #expect(throws: Diagnostic(expected)) { try AtomicFile.write("text", to: path) }
            #expect(fileType(path) == kind, "\(name) was replaced")
        }
        #expect(FileManager.default.contents(atPath: directory + "/target") == Data([42]))
        #expect(!FileManager.default.fileExists(atPath: directory + "/nowhere"))
    }

    @Test("rewriting a file keeps its permission bits and owner")
    func keepsModeAndOwner() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/private.safetensors"
        try SafetensorsFormat.write(["a": Tensor.scalar(1)], to: path)
        #expect(chmod(path, 0o600) == 0)
        // Only root may give a file away; as another user the owner is ours anyway.
        let owner: (uid_t, gid_t) = geteuid() == 0 ? (1234, 5678) : (geteuid(), getegid())
        #expect(chown(path, owner.0, owner.1) == 0)
        try SafetensorsFormat.write(["a": Tensor.scalar(2)], to: path)
        let after = try #require(ownership(path))
        #expect(after.mode == 0o600)
        #expect(after.uid == owner.0 && after.gid == owner.1)
        #expect(chmod(path, 0o640) == 0)
        try AtomicFile.write([1], to: path)
        #expect(ownership(path)?.mode == 0o640)
    }

    @Test("reading a FIFO is refused at once instead of waiting for a writer")
    func fifoRead() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/fifo"
        #expect(mkfifo(path, 0o644) == 0)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var message: String?
        Thread {
            do { _ = try AtomicFile.read(path) } catch let d as Diagnostic { message = d.message } catch {}
            done.signal()
        }.start()
        if done.wait(timeout: .now() + 10) == .timedOut {
            Issue.record("AtomicFile.read blocked on a FIFO for 10 s")
            // Opening the write end releases the blocked open, so the thread ends.
            let writer = open(path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            done.wait()
        }
        #expect(message == "cannot read '\(path)': not a regular file (devices, pipes and sockets are refused)")
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
