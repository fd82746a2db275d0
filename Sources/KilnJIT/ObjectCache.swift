import Foundation
import Synchronization

/// Compiled modules on disk, keyed by what determines the machine code: the module's
/// deterministic IR text, the target triple, CPU and features, and LLVM's version. A hit skips
/// optimisation and code generation (an LSTM step: seconds → milliseconds). Files are written
/// to a temporary name and renamed, so concurrent processes never read half a file; each ends
/// with a checksum and a magic trailer, so a damaged file is ignored and replaced. The folder
/// is `KILN_CACHE_DIR` (default `$XDG_CACHE_HOME/kiln` or `~/.cache/kiln`; `off` disables it),
/// kept under `capacity` bytes by removing the least recently written files.
struct ObjectCache {
    let directory: URL
    var capacity = 512 << 20
    /// What a trim leaves: a quarter of the capacity free, so the next trim is that many bytes
    /// of stores away.
    var lowWater: Int { capacity / 4 * 3 }

    static let trailerMagic: UInt64 = 0x314A_424F_4E4C_494B // "KILNOBJ1", little-endian

    /// The cache the environment asks for, or nil when it is off or has no usable folder.
    static func fromEnvironment() -> ObjectCache? {
        let environment = ProcessInfo.processInfo.environment
        let folder: String
        if let chosen = environment["KILN_CACHE_DIR"] {
            if chosen == "off" || chosen.isEmpty { return nil }
            folder = chosen
        } else if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            folder = xdg + "/kiln"
        } else if let home = environment["HOME"], !home.isEmpty {
            folder = home + "/.cache/kiln"
        } else {
            return nil
        }
        return ObjectCache(directory: URL(fileURLWithPath: folder, isDirectory: true))
    }

    /// Two independent 64-bit hashes of `text`, as 32 hex digits.
    static func key(_ text: String) -> String {
        var a: UInt64 = 0xCBF2_9CE4_8422_2325, b: UInt64 = 0x9E37_79B9_7F4A_7C15
        for byte in text.utf8 {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            b = (b &+ UInt64(byte)) &* 0xBF58_476D_1CE4_E5B9
            b ^= b >> 29
        }
        return String(format: "%016llx%016llx", a, b)
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    private func path(_ key: String) -> URL { directory.appendingPathComponent(key + ".o") }

    /// The object stored under `key`, if it is there whole (a regular file with a valid trailer).
    func load(_ key: String) -> Data? {
        let url = path(key)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let data = try? Data(contentsOf: url), data.count > 16 else { return nil }
        let body = data.count - 16
        let valid = data.withUnsafeBytes { raw -> Bool in
            let sum = raw.loadUnaligned(fromByteOffset: body, as: UInt64.self)
            let magic = raw.loadUnaligned(fromByteOffset: body + 8, as: UInt64.self)
            return magic == Self.trailerMagic && sum == Self.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<body]))
        }
        guard valid else {
            try? FileManager.default.removeItem(at: url)
            return nil
        }
        return data.prefix(body)
    }

    /// Stores `object` under `key` (best effort: a cache that cannot be written is no error).
    func store(_ key: String, _ object: Data) {
        let manager = FileManager.default
        guard (try? manager.createDirectory(at: directory, withIntermediateDirectories: true)) != nil else { return }
        var file = object
        let sum = object.withUnsafeBytes { Self.checksum($0) }
        withUnsafeBytes(of: sum.littleEndian) { file.append(contentsOf: $0) }
        withUnsafeBytes(of: Self.trailerMagic.littleEndian) { file.append(contentsOf: $0) }
        let temporary = directory.appendingPathComponent(".\(key).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        guard manager.createFile(atPath: temporary.path, contents: file, attributes: [.posixPermissions: 0o600]) else { return }
        guard rename(temporary.path, path(key).path) == 0 else { try? manager.removeItem(at: temporary); return }
        // Listing the folder costs a stat per file (a cache of 49K objects made each kiln process
        // that stored spend ~2 s there): the folder's size is kept in a ledger instead, read
        // once per process, and the folder is listed only when the estimate passes capacity.
        let ledger = Ledger(directory: directory)
        let appended = ledger.append(file.count)
        let estimate = Self.knownBytes.withLock { known -> Int? in
            if let bytes = known[directory.path] {
                known[directory.path] = bytes + file.count
                return bytes + file.count
            }
            guard appended, let sum = ledger.sum() else { return nil }
            known[directory.path] = sum.bytes
            return sum.records > Ledger.recordLimit ? nil : sum.bytes
        }
        if estimate.map({ $0 > capacity }) ?? true { trim() }
    }

    /// Bytes each folder held at this process's last `trim` or first store, plus what this
    /// process stored since (other processes' writes are seen at the next `trim`: the capacity
    /// is a soft limit).
    static let knownBytes = Mutex<[String: Int]>([:])

    /// Removes the oldest objects until the folder holds at most `lowWater` bytes, and restarts
    /// the ledger from the bytes left. Trimming only down to `capacity` left a full cache full:
    /// every later store passed capacity again and listed the whole folder (a stat per file —
    /// 70K objects made each store of a `swift test` run cost ~0.2 s).
    func trim() {
        var files: [(name: String, size: Int, date: timespec)] = []
        guard let folder = opendir(directory.path) else { return }
        let fd = dirfd(folder)
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasSuffix(".o") else { continue }
            var info = stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            files.append((name, Int(info.st_size), info.st_mtim))
        }
        var total = files.reduce(0) { $0 + $1.size }
        let oldestFirst = files.sorted { ($0.date.tv_sec, $0.date.tv_nsec) < ($1.date.tv_sec, $1.date.tv_nsec) }
        for file in oldestFirst where total > lowWater {
            if unlinkat(fd, file.name, 0) == 0 { total -= file.size }
        }
        closedir(folder)
        Ledger(directory: directory).restart(total)
        Self.knownBytes.withLock { $0[directory.path] = total }
    }

    /// Removes every cached object; returns how many.
    func clear() -> Int {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory.path) else { return 0 }
        var removed = 0
        for name in names where name.hasSuffix(".o") || name.hasSuffix(".tmp") {
            if (try? manager.removeItem(at: directory.appendingPathComponent(name))) != nil { removed += 1 }
        }
        Ledger(directory: directory).restart(0)
        Self.knownBytes.withLock { $0[directory.path] = 0 }
        return removed
    }
}
