import Foundation
import KilnIR

/// Whole-file reads and crash-safe writes. A write goes to a fresh temporary file in the
/// destination's directory, is flushed to disk, and only then renamed over the real name, so a
/// crash at any moment leaves either the old file or the complete new one under that name.
enum AtomicFile {
    static func write(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        // O_EXCL on a random name: never truncate a file someone else is writing.
        var temporary = "", descriptor: Int32 = -1
        for _ in 0..<8 {
            temporary = "\(directory)/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else {
            throw Diagnostic("cannot write '\(path)': cannot create a temporary file in '\(directory)': \(systemError())")
        }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            try writeAll(bytes, to: descriptor, path: path)
            // Without fsync a power loss after the rename can leave an empty file under the real name.
            guard fsync(descriptor) == 0 else { throw Diagnostic("cannot write '\(path)': \(systemError())") }
        } catch {
            close(descriptor)
            throw error
        }
        guard close(descriptor) == 0 else { throw Diagnostic("cannot write '\(path)': \(systemError())") }
        guard rename(temporary, path) == 0 else { throw Diagnostic("cannot write '\(path)': \(systemError())") }
        renamed = true
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)  // makes the rename itself durable; best effort
            close(directoryDescriptor)
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

    static func read(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Diagnostic("cannot read '\(path)': \(systemError())") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var info = stat()
        if fstat(descriptor, &info) == 0, info.st_size > 0 { bytes.reserveCapacity(Int(info.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Diagnostic("cannot read '\(path)': \(systemError())")
            }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
        }
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }
}
