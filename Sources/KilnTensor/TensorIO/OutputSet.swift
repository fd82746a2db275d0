import Foundation
import KilnIR

/// Files written as a set: each goes into a fresh staging directory inside the destination
/// (`DIR/.kiln-staging-PID-RAND`), flushed to disk; only when all are written are they renamed
/// into `DIR`, one rename each. A failure while writing (disk full, a killed process) leaves
/// `DIR` exactly as it was — never a mix of old and new outputs. Other files in `DIR` are kept.
/// Staging directories of processes that no longer exist are removed when a new set starts.
public final class OutputSet {
    public let directory: String
    private let staging: String
    private var names: [String] = []
    private var committed = false

    /// Creates `directory` if missing and a staging directory inside it.
    public init(directory: String) throws {
        self.directory = directory
        try AtomicFile.makeDirectory(directory)
        Self.removeStaleStaging(in: directory)
        var path = ""
        for _ in 0..<8 {
            path = "\(directory)/.kiln-staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            if mkdir(path, 0o755) == 0 { break }
            guard errno == EEXIST else { throw Diagnostic("cannot write into '\(directory)': \(AtomicFile.systemError())") }
        }
        staging = path
    }

    deinit { if !committed { discard() } }

    /// Writes one file of the set (a plain name, no directories) into the staging directory.
    public func add(_ name: String, bytes: [UInt8]) throws {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw Diagnostic("cannot write an output named '\(name)' into '\(directory)'")
        }
        // Refused before anything is staged: a FIFO, device or symlink named like an output
        // would otherwise be replaced by the commit's rename.
        let existing = try AtomicFile.checkDestination("\(directory)/\(name)")
        do {
            try AtomicFile.write(bytes, to: "\(staging)/\(name)")
            // The commit's rename replaces the inode: carry over the replaced file's owner and mode.
            if let existing {
                _ = chown("\(staging)/\(name)", existing.st_uid, existing.st_gid)
                _ = chmod("\(staging)/\(name)", existing.st_mode & 0o7777)
            }
        } catch let d as Diagnostic {
            // Name the destination, not the staging directory the user never asked for.
            throw Diagnostic(d.message.replacingOccurrences(of: staging, with: directory))
        }
        names.append(name)
    }

    /// Moves every file of the set into the directory and removes the staging directory.
    public func commit() throws {
        // Checked again for the whole set before any rename, so a special file that appeared
        // meanwhile leaves the directory untouched rather than half committed.
        for name in names { try AtomicFile.checkDestination("\(directory)/\(name)") }
        for name in names {
            guard rename("\(staging)/\(name)", "\(directory)/\(name)") == 0 else {
                throw Diagnostic("cannot write '\(directory)/\(name)': \(AtomicFile.systemError())")
            }
        }
        committed = true
        rmdir(staging)
        AtomicFile.syncDirectory(directory)
    }

    /// Removes what was staged; the directory keeps its previous content.
    public func discard() {
        for name in names { unlink("\(staging)/\(name)") }
        rmdir(staging)
        names = []
    }

    static func removeStaleStaging(in directory: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for entry in entries where entry.hasPrefix(".kiln-staging-") {
            let fields = entry.dropFirst(".kiln-staging-".count).split(separator: "-")
            guard fields.count == 2, let pid = Int32(fields[0]), pid > 0, UInt32(fields[1]) != nil else { continue }
            guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: "\(directory)/\(entry)")
        }
    }
}
