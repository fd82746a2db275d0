import KilnIR

/// NumPy `.npz`: a zip archive of `.npy` members. Reads stored (numpy.savez) and deflated
/// (numpy.savez_compressed) members through the central directory, with zip64 sizes, and
/// verifies each member's CRC-32; writes stored members.
extension NumPyFormat {
    public static func readArchive(path: String) throws -> [String: Tensor] {
        try decodeArchive(try AtomicFile.read(path), name: path)
    }

    public static func writeArchive(_ tensors: [String: Tensor], to path: String) throws {
        try AtomicFile.write(encodeArchive(tensors), to: path)
    }

    public static func decodeArchive(_ bytes: [UInt8], name: String) throws -> [String: Tensor] {
        guard bytes.count >= 22 else { throw Diagnostic("'\(name)': not a .npz file (too short for a zip archive)") }
        var end = -1
        for i in stride(from: bytes.count - 22, through: Swift.max(0, bytes.count - 65_557), by: -1)
        where bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 0x05 && bytes[i + 3] == 0x06 {
            end = i
            break
        }
        guard end >= 0 else { throw Diagnostic("'\(name)': not a .npz file (no zip end-of-directory record)") }
        var eocd = ByteReader(bytes, name: name)
        eocd.position = end + 10
        let count = Int(try eocd.uint(2, "the entry count"))
        _ = try eocd.uint(4, "the directory size")
        var directory = ByteReader(bytes, name: name)
        directory.position = Int(try eocd.uint(4, "the directory offset"))
        var result: [String: Tensor] = [:]
        for _ in 0..<count {
            guard try directory.uint(4, "a directory entry") == 0x0201_4B50 else {
                throw Diagnostic("'\(name)': corrupt zip directory (bad entry signature)")
            }
            _ = try directory.take(6, "an entry header")
            let method = try directory.uint(2, "the compression method")
            _ = try directory.take(4, "the entry time")
            let crc = UInt32(try directory.uint(4, "the CRC"))
            var compressed = try directory.uint(4, "the compressed size")
            var size = try directory.uint(4, "the size")
            let nameLength = Int(try directory.uint(2, "the name length"))
            let extraLength = Int(try directory.uint(2, "the extra length"))
            let commentLength = Int(try directory.uint(2, "the comment length"))
            _ = try directory.take(8, "the entry attributes")
            var offset = try directory.uint(4, "the entry offset")
            let memberName = String(decoding: try directory.take(nameLength, "the entry name"), as: UTF8.self)
            var extra = ByteReader(Array(try directory.take(extraLength, "the extra field")), name: name)
            while extra.position + 4 <= extraLength {
                let id = try extra.uint(2, "an extra field"), length = Int(try extra.uint(2, "an extra field"))
                let fieldEnd = extra.position + length
                if id == 0x0001 {  // zip64: the 64-bit values replace the saturated 32-bit ones, in order
                    if size == 0xFFFF_FFFF { size = try extra.uint(8, "the zip64 size") }
                    if compressed == 0xFFFF_FFFF { compressed = try extra.uint(8, "the zip64 compressed size") }
                    if offset == 0xFFFF_FFFF { offset = try extra.uint(8, "the zip64 offset") }
                }
                extra.position = fieldEnd
            }
            _ = try directory.take(commentLength, "the entry comment")

            var local = ByteReader(bytes, name: name)
            local.position = Int(clamping: offset)
            guard try local.uint(4, "a member header") == 0x0403_4B50 else {
                throw Diagnostic("'\(name)': corrupt zip member '\(memberName)' (bad header signature)")
            }
            _ = try local.take(22, "a member header")
            let localName = Int(try local.uint(2, "a member name length")), localExtra = Int(try local.uint(2, "a member extra length"))
            _ = try local.take(localName + localExtra, "a member name")
            let data = try local.take(Int(clamping: compressed), "the data of member '\(memberName)'")
            let content: [UInt8]
            switch method {
            case 0: content = Array(data)
            case 8: content = try Zlib.inflateRaw(data, expectedSize: Int(clamping: size), name: "'\(name)' member '\(memberName)'")
            default: throw Diagnostic("'\(name)': member '\(memberName)' uses unsupported compression method \(method)")
            }
            guard Zlib.crc32(content[...]) == crc else {
                throw Diagnostic("'\(name)': member '\(memberName)' fails its CRC-32 check (corrupt data)")
            }
            let key = memberName.hasSuffix(".npy") ? String(memberName.dropLast(4)) : memberName
            result[key] = try decode(content, name: "\(name)[\(memberName)]")
        }
        return result
    }

    public static func encodeArchive(_ tensors: [String: Tensor]) -> [UInt8] {
        var bytes: [UInt8] = [], directory: [UInt8] = []
        for key in tensors.keys.sorted() {
            guard let tensor = tensors[key] else { continue }
            let data = encode(tensor), name = Array("\(key).npy".utf8), crc = Zlib.crc32(data[...])
            let offset = UInt32(bytes.count)
            func header(_ out: inout [UInt8], central: Bool) {
                out.appendLittleEndian(UInt32(central ? 0x0201_4B50 : 0x0403_4B50))
                if central { out.appendLittleEndian(UInt16(20)) }
                out.appendLittleEndian(UInt16(20)); out.appendLittleEndian(UInt16(0)); out.appendLittleEndian(UInt16(0))
                out.appendLittleEndian(UInt16(0)); out.appendLittleEndian(UInt16(0x21))
                out.appendLittleEndian(crc); out.appendLittleEndian(UInt32(data.count)); out.appendLittleEndian(UInt32(data.count))
                out.appendLittleEndian(UInt16(name.count)); out.appendLittleEndian(UInt16(0))
                if central {
                    out.appendLittleEndian(UInt16(0)); out.appendLittleEndian(UInt16(0)); out.appendLittleEndian(UInt16(0))
                    out.appendLittleEndian(UInt32(0)); out.appendLittleEndian(offset)
                }
                out += name
            }
            header(&bytes, central: false)
            bytes += data
            header(&directory, central: true)
        }
        let directoryOffset = UInt32(bytes.count)
        bytes += directory
        bytes.appendLittleEndian(UInt32(0x0605_4B50)); bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(UInt16(tensors.count)); bytes.appendLittleEndian(UInt16(tensors.count))
        bytes.appendLittleEndian(UInt32(directory.count)); bytes.appendLittleEndian(directoryOffset)
        bytes.appendLittleEndian(UInt16(0))
        return bytes
    }
}
