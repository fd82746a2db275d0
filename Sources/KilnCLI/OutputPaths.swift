import ArgumentParser
import Foundation
import KilnIR
import KilnRuntime

/// Checks of the paths options name for writing, made in `validate()` so that a bad one fails
/// before anything runs (not after an epoch of training).
enum OutputPaths {
    /// A file option (`-o`, `--json`, `--checkpoint`): non-empty, and absent or a regular file —
    /// never a directory, device, FIFO or symbolic link, which a rename would replace.
    static func checkFile(_ option: String, _ path: String?) throws {
        guard let path else { return }
        do { try AtomicFile.checkDestination(path) } catch let d as Diagnostic { throw ValidationError("\(option): \(d.message)") }
    }

    /// A directory option (`--report`, `--output-dir`): non-empty, because "" joined as
    /// "\(path)/NAME" writes into `/` (an unset shell variable is enough).
    static func checkDirectory(_ option: String, _ path: String?) throws {
        guard let path else { return }
        guard !path.isEmpty else { throw ValidationError("\(option) needs a directory path, got an empty one") }
    }

    /// Whether `a` and `b` name the same existing file (also through `./`, `..` or a hard link).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    /// Refuses writing `output` (named by `option`) over one of the command's inputs: the
    /// input would be lost and the command would still exit 0.
    static func checkNotInput(_ option: String, _ output: String, inputs: [String?]) throws {
        for case let input? in inputs where input != "-" && (input == output || sameFile(input, output)) {
            throw ValidationError("\(option) '\(output)' is the input '\(input)': writing it would replace the input; choose another path")
        }
    }
}
