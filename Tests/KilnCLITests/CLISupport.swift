import ArgumentParser
import Foundation
import Synchronization
@testable import kiln

/// The message ArgumentParser prints for `arguments` of `command`, or nil when they parse and
/// validate (the options of each verb are checked before anything runs).
func validationMessage<C: ParsableCommand>(_ command: C.Type, _ arguments: [String]) -> String? {
    do {
        _ = try command.parse(arguments)
        return nil
    } catch {
        return command.message(for: error)
    }
}

/// The repository root (for Graphs/ and the built `kiln` binary).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// Runs the built `kiln` binary (or another `executable`); returns its exit status, standard
/// output and standard error.
func runKiln(_ arguments: [String], environment: [String: String] = [:], executable: URL = kilnBinary) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    // Standard error goes to a file, so neither stream can block the child on a full pipe
    // while the other is being read.
    let errPath = NSTemporaryDirectory() + "kiln-cli-stderr-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errPath) }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errData = FileManager.default.contents(atPath: errPath) ?? Data()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// `.build/debug/kiln` next to the test bundle (SwiftPM builds it as a dependency of this target).
let kilnBinary: URL = {
    let candidates = [Bundle.main.bundleURL.appendingPathComponent("kiln"),
                      Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("kiln"),
                      repositoryRoot.appendingPathComponent(".build/debug/kiln")]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[2]
}()

/// A fresh directory under the system's temporary directory, removed when the test process
/// exits (tests that remove it sooner may; many CLI tests left theirs behind).
func makeTemporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "kiln-cli-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    TemporaryDirectories.shared.withLock { $0.append(path) }
    return path
}

/// The directories `makeTemporaryDirectory` made, removed at exit.
enum TemporaryDirectories {
    static let shared: Mutex<[String]> = {
        atexit {
            for path in TemporaryDirectories.shared.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
        }
        return Mutex([])
    }()
}

/// Copies the executable `source` to `destination` (mode 0755) through a descriptor opened
/// close-on-exec, so a process another test spawns meanwhile cannot inherit it open for
/// writing (which made exec of the copy fail with ETXTBSY, "Text file busy").
func copyExecutable(_ source: URL, to destination: URL) throws {
    let data = try Data(contentsOf: source)
    let fd = open(destination.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    try data.withUnsafeBytes { bytes in
        guard let base = bytes.baseAddress else { return }
        var written = 0
        while written < bytes.count {
            let n = write(fd, base + written, bytes.count - written)
            guard n > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            written += n
        }
    }
}

/// Writes `text` to `name` in `directory` and returns the path.
func writeFile(_ text: String, _ name: String, in directory: String) throws -> String {
    let path = "\(directory)/\(name)"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// `make test` sets KILN_TEST_REQUIRE_ALL=1: it installs every prerequisite (NumPy, the
/// Debian data sets, Graphviz), so there a missing one must fail, not skip. Elsewhere a test
/// whose prerequisite is missing is skipped with `.enabled(if:)`, which Swift Testing reports
/// as a skip (and `make test` counts), never as a pass.
let prerequisitesRequired = ProcessInfo.processInfo.environment["KILN_TEST_REQUIRE_ALL"] == "1"

/// The `.enabled(if:)` condition for a test that needs `available`: true when it is there,
/// and under `make test` always (the test then runs and fails without it).
func prerequisite(_ available: Bool) -> Bool { available || prerequisitesRequired }
