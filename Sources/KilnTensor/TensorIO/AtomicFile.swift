import Foundation
import KilnIR

/// Whole-file reads and crash-safe writes. A write goes to a fresh temporary file in the
/// destination's directory, is flushed to disk, and only then renamed over the real name, so a
/// crash at any moment leaves either the old file or the complete new one under that name.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically (temporary file, fsync, rename). Temporary files of
    /// earlier writes to the same name whose process is gone are removed first.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try write(to: path) { append in try append(bytes) }
    }

    /// Writes what `produce` appends to `path` atomically. Until `produce` returns, the bytes go
    /// only to the temporary file: if it throws, the temporary file is removed and `path` keeps
    /// what it held. The destination must be absent or a regular file (`checkDestination`); an
    /// existing file keeps its permission bits and, where the process may set them, its owner.
    public static func write(to path: String, _ produce: (_ append: ([UInt8]) throws -> Void) throws -> Void) throws {
        let existing = try checkDestination(path)
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        removeStaleTemporaries(of: url.lastPathComponent, in: directory)
        // O_EXCL on a random name: never truncate a file someone else is writing. 0o666 lets
        // the umask decide a new file's mode, as for any other program's output.
        var temporary = "", descriptor: Int32 = -1
        for _ in 0..<8 {
            temporary = "\(directory)/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else {
            throw Diagnostic("cannot write '\(path)': cannot create a temporary file in '\(directory)': \(systemError())")
        }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            if let existing {
                // The rename replaces the inode, so a private (0600) checkpoint would otherwise
                // come back world-readable. chown first: it clears set-id bits that chmod restores.
                // chown fails for a non-root user writing another user's file; the mode still holds.
                _ = fchown(descriptor, existing.st_uid, existing.st_gid)
                guard fchmod(descriptor, existing.st_mode & 0o7777) == 0 else { throw Diagnostic("cannot write '\(path)': \(systemError())") }
            }
            try produce { bytes in try writeAll(bytes, to: descriptor, path: path) }
            // Without fsync a power loss after the rename can leave an empty file under the real name.
            guard fsync(descriptor) == 0 else { throw Diagnostic("cannot write '\(path)': \(systemError())") }
        } catch {
            close(descriptor)
            throw error
        }
        guard close(descriptor) == 0 else { throw Diagnostic("cannot write '\(path)': \(systemError())") }
        // Checked again just before the rename: a FIFO or symlink put there while the data was
        // written must not be replaced either (the window left is the rename itself).
        _ = try checkDestination(path)
        guard rename(temporary, path) == 0 else { throw Diagnostic("cannot write '\(path)': \(systemError())") }
        renamed = true
        syncDirectory(directory)
    }

    /// Throws unless `path` may be replaced by a write: it must be non-empty, not end in `/`,
    /// and be absent or a regular file. A rename would replace a device node (`/dev/null`), a
    /// FIFO or a symbolic link by a regular file — as root, damaging the machine — so those are
    /// refused, `/dev/stdout` included (it is a symbolic link). Returns the existing file's
    /// status, nil when there is none.
    @discardableResult
    public static func checkDestination(_ path: String) throws -> stat? {
        guard !path.isEmpty else { throw Diagnostic("cannot write to an empty path") }
        guard !path.hasSuffix("/") else { throw Diagnostic("cannot write '\(path)': the path names a directory, not a file") }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            // Absent (or an unusable parent, reported when the temporary file is created).
            return nil
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return info
        case S_IFDIR: throw Diagnostic("cannot write '\(path)': Is a directory")
        case S_IFLNK: throw Diagnostic("cannot write '\(path)': it is a symbolic link (Kiln replaces only regular files; name the file it points to)")
        default: throw Diagnostic("cannot write '\(path)': not a regular file (devices, pipes and sockets are never replaced)")
        }
    }

    /// Writes `text` as UTF-8 to `path` atomically.
    public static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    /// Makes the rename of an entry of `directory` durable; best effort.
    static func syncDirectory(_ directory: String) {
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Removes `.NAME.tmp-PID-RAND` files left in `directory` by writes whose process no longer
    /// exists (killed mid-write). A live process's temporary file is never touched.
    static func removeStaleTemporaries(of name: String, in directory: String) {
        let prefix = ".\(name).tmp-"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for entry in entries where entry.hasPrefix(prefix) {
            let fields = entry.dropFirst(prefix.count).split(separator: "-")
            guard fields.count == 2, let pid = Int32(fields[0]), pid > 0, UInt32(fields[1]) != nil else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink("\(directory)/\(entry)") }
        }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                let n = Foundation.write(descriptor, base + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Diagnostic("cannot write '\(path)': \(systemError())")
                }
                done += n
            }
        }
    }

    /// The whole content of the regular file at `path`. Devices, pipes and sockets are refused
    /// (`/dev/zero` would never end), and a file longer than `limit` bytes is refused before
    /// anything is read.
    public static func read(_ path: String, limit: Int = Int.max) throws -> [UInt8] {
        guard !path.isEmpty else { throw Diagnostic("cannot read an empty path") }
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever,
        // before the regular-file check below could refuse it. A regular file ignores it.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw Diagnostic("cannot read '\(path)': \(systemError())") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw Diagnostic("cannot read '\(path)': \(systemError())") }
        let kind = info.st_mode & S_IFMT
        if kind == S_IFDIR { throw Diagnostic("cannot read '\(path)': Is a directory") }
        guard kind == S_IFREG else {
            throw Diagnostic("cannot read '\(path)': not a regular file (devices, pipes and sockets are refused)")
        }
        guard info.st_size <= limit else {
            throw Diagnostic("cannot read '\(path)': it has \(info.st_size) bytes, more than the limit of \(limit)")
        }
        if info.st_size > 0 { bytes.reserveCapacity(Int(info.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Diagnostic("cannot read '\(path)': \(systemError())")
            }
            if n == 0 { return bytes }
            // A file that grows while it is read (a log being written) is still bounded.
            guard bytes.count + n <= limit else {
                throw Diagnostic("cannot read '\(path)': longer than the limit of \(limit) bytes")
            }
            bytes += chunk[0..<n]
        }
    }

    /// Creates `path` and its parents if missing; a failure names the path and the reason
    /// (instead of Foundation's `NSCocoaErrorDomain Code=512`).
    public static func makeDirectory(_ path: String) throws {
        // An empty path (an unset shell variable) would put every file into "/" once the
        // callers join it as "\(path)/NAME".
        guard !path.isEmpty else { throw Diagnostic("cannot use an empty path as a directory") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw Diagnostic("cannot use '\(path)' as a directory: it exists and is not a directory") }
            guard access(path, W_OK) == 0 else { throw Diagnostic("cannot write into '\(path)': \(systemError())") }
            return
        }
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw Diagnostic("cannot create directory '\(prefix)': \(systemError())")
            }
        }
    }

    static func systemError() -> String { String(cString: strerror(errno)) }
}
