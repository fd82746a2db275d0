import KilnIR

/// NumPy `.npz` archives: a zip of `.npy` members, as `numpy.savez` (stored) and
/// `numpy.savez_compressed` (deflated) write them. Keys are the member names without `.npy`.
extension NumPyFormat {
    /// Every array in the archive at `path`.
    /// `limit` bounds the bytes the arrays take once inflated (see `decodeArchive`).
    public static func readArchive(path: String, limit: Int = Int.max) throws -> [String: Tensor] {
        try decodeArchive(try AtomicFile.read(path, limit: limit), name: path, limit: limit)
    }

    /// Writes `tensors` as an `.npz` archive atomically; `compressed` deflates the members like
    /// `numpy.savez_compressed`.
    public static func writeArchive(_ tensors: [String: Tensor], to path: String, compressed: Bool = false) throws {
        try AtomicFile.write(encodeArchive(tensors, compressed: compressed), to: path)
    }

    /// Parses `.npz` bytes; `name` (the file) appears in every error.
    /// The members' declared sizes are checked against `limit` before any is inflated.
    public static func decodeArchive(_ bytes: [UInt8], name: String, limit: Int = Int.max) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for member in try ZipArchive.read(bytes, name: name, limit: limit) {
            let key = member.name.hasSuffix(".npy") ? String(member.name.dropLast(4)) : member.name
            guard result[key] == nil else { throw Diagnostic("'\(name)': two members are named '\(key)'") }
            result[key] = try decode(member.data, name: "\(name)[\(member.name)]")
        }
        return result
    }

    /// The `.npz` bytes of `tensors`, members in sorted key order.
    public static func encodeArchive(_ tensors: [String: Tensor], compressed: Bool = false) -> [UInt8] {
        encodeArchive(tensors, compressed: compressed, forceZip64: false)
    }

    static func encodeArchive(_ tensors: [String: Tensor], compressed: Bool, forceZip64: Bool) -> [UInt8] {
        let members = tensors.sorted { $0.key < $1.key }.map { ZipArchive.Member(name: "\($0.key).npy", data: encode($0.value)) }
        return ZipArchive.write(members, compress: compressed, forceZip64: forceZip64)
    }
}
