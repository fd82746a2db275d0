import Foundation
import KilnIR
import KilnTensor

/// A fresh directory under the system's temporary directory.
func makeTemporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "kiln-io-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs `script` with python3 (argument: `argument`); false when python3 or numpy is missing or
/// the script fails. Tests that need NumPy print a note and skip on false from `numpyAvailable`.
func runPython(_ script: String, _ argument: String) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, argument]
    let errors = Pipe()
    process.standardError = errors
    do { try process.run() } catch { return false }
    let message = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus != 0 { print(String(decoding: message, as: UTF8.self)) }
    return process.terminationStatus == 0
}

let numpyAvailable: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import numpy"]
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

/// `.npy` bytes with a hand-written header (padded to 64 bytes like NumPy) and payload.
func npyBytes(_ header: String, _ payload: [UInt8], version: UInt8 = 1) -> [UInt8] {
    let lengthSize = version == 1 ? 2 : 4
    var h = Array(header.utf8)
    while (6 + 2 + lengthSize + h.count + 1) % 64 != 0 { h.append(0x20) }
    h.append(0x0A)
    var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
    for i in 0..<lengthSize { bytes.append(UInt8(truncatingIfNeeded: h.count >> (8 * i))) }
    return bytes + h + payload
}

func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
}

/// Same dtype, shape and element bits (NaN payloads included).
func identical(_ a: Tensor?, _ b: Tensor) -> Bool {
    guard let a, a.type == b.type else { return false }
    return memcmp(a.storage.pointer, b.storage.pointer, b.type.byteCount) == 0
}

/// Seeded truncations and byte flips of `original`, each handed to `body`.
func mutations(of original: [UInt8], count: Int, seed: UInt64, _ body: ([UInt8]) -> Void) {
    var state = seed
    for _ in 0..<count {
        state = KilnRandom.mix(state &+ 0x9E37_79B9_7F4A_7C15)
        var bytes = original
        if state & 3 == 0 { bytes = Array(bytes.prefix(Int(state >> 32) % (bytes.count + 1))) }
        let flips = Int(state >> 8 & 3) + (state & 3 == 0 ? 0 : 1)
        for k in 0..<flips where !bytes.isEmpty {
            let r = KilnRandom.mix(state ^ UInt64(k))
            bytes[Int(r >> 16) % bytes.count] ^= UInt8(truncatingIfNeeded: r) | 1
        }
        body(bytes)
    }
}

/// `make test` sets KILN_TEST_REQUIRE_ALL=1: it installs every prerequisite (NumPy, the
/// Debian data sets, Graphviz), so there a missing one must fail, not skip. Elsewhere a test
/// whose prerequisite is missing is skipped with `.enabled(if:)`, which Swift Testing reports
/// as a skip (and `make test` counts), never as a pass.
let prerequisitesRequired = ProcessInfo.processInfo.environment["KILN_TEST_REQUIRE_ALL"] == "1"

/// The `.enabled(if:)` condition for a test that needs `available`: true when it is there,
/// and under `make test` always (the test then runs and fails without it).
func prerequisite(_ available: Bool) -> Bool { available || prerequisitesRequired }

/// The kinds of destination a write must never replace, each made inside `directory` (never
/// in the real `/dev`): a character device like `/dev/null` (only as root, which may mknod),
/// a FIFO, a symbolic link to a regular file and a dangling one. Returns name → file type.
func makeSpecialFiles(in directory: String) -> [String: mode_t] {
    var made: [String: mode_t] = [:]
    // Major 1, minor 3 is /dev/null's number; glibc encodes small numbers as major << 8 | minor.
    if geteuid() == 0, mknod("\(directory)/mynull", S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0 { made["mynull"] = S_IFCHR }
    if mkfifo("\(directory)/fifo", 0o644) == 0 { made["fifo"] = S_IFIFO }
    _ = FileManager.default.createFile(atPath: "\(directory)/target", contents: Data([42]))
    if symlink("\(directory)/target", "\(directory)/link") == 0 { made["link"] = S_IFLNK }
    if symlink("\(directory)/nowhere", "\(directory)/dangling") == 0 { made["dangling"] = S_IFLNK }
    return made
}

/// The file type of `path` itself (not of what a symbolic link points to), or nil if absent.
func fileType(_ path: String) -> mode_t? {
    var info = stat()
    return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : nil
}

/// The permission bits, owner and group of `path`.
func ownership(_ path: String) -> (mode: mode_t, uid: uid_t, gid: gid_t)? {
    var info = stat()
    return stat(path, &info) == 0 ? (info.st_mode & 0o7777, info.st_uid, info.st_gid) : nil
}
