import Foundation

extension ObjectCache {
    /// The cache folder's size without a stat per file: `.ledger` holds 8-byte little-endian
    /// records, the first the bytes the folder held at the last `trim`, each later one an
    /// object a store added. Stores append with O_APPEND, so records of concurrent processes
    /// interleave whole; `trim` replaces the file by rename. A record lost in that race only
    /// delays the next trim (the capacity is a soft limit); a ledger that is missing, not a
    /// regular file, or not a whole number of records reads as unknown, and the folder is listed.
    struct Ledger {
        let url: URL

        /// Past this many records the ledger is rebuilt from a listing, so reading it stays cheap
        /// (64K records: 512 KiB).
        static let recordLimit = 1 << 16

        init(directory: URL) { url = directory.appendingPathComponent(".ledger") }

        /// Appends `bytes` to an existing ledger; false when there is none to append to (the
        /// first record must be a listing's total, which only `restart` writes).
        func append(_ bytes: Int) -> Bool {
            let fd = open(url.path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
            var record = UInt64(max(bytes, 0)).littleEndian
            return withUnsafeBytes(of: &record) { write(fd, $0.baseAddress, 8) } == 8
        }

        /// The ledger's total and record count, or nil when it cannot be trusted.
        func sum() -> (bytes: Int, records: Int)? {
            let fd = open(url.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
                  info.st_size >= 8, info.st_size % 8 == 0, info.st_size <= 8 * (Self.recordLimit + 1024) else { return nil }
            var records = [UInt64](repeating: 0, count: Int(info.st_size) / 8)
            let wanted = records.count * 8
            let read = records.withUnsafeMutableBytes { pread(fd, $0.baseAddress, wanted, 0) }
            guard read == wanted else { return nil }
            var total = 0
            for record in records {
                let (sum, overflow) = total.addingReportingOverflow(Int(clamping: UInt64(littleEndian: record)))
                guard !overflow else { return nil }
                total = sum
            }
            return (total, records.count)
        }

        /// Replaces the ledger by one record of `bytes` (a temporary file renamed over it).
        func restart(_ bytes: Int) {
            var record = UInt64(max(bytes, 0)).littleEndian
            let temporary = url.path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { return }
            let written = withUnsafeBytes(of: &record) { write(fd, $0.baseAddress, 8) }
            close(fd)
            if written != 8 || rename(temporary, url.path) != 0 { unlink(temporary) }
        }
    }
}
