import KilnIR

/// The subset of the zip format that `.npz` files use: members stored or deflated, found
/// through the central directory, with zip64 sizes, offsets and counts; every member's CRC-32
/// is checked. Encrypted, multi-disk and other-method archives are refused by name.
enum ZipArchive {
    struct Member {
        var name: String
        var data: [UInt8]
    }

    private static let saturated32: UInt64 = 0xFFFF_FFFF

    /// The members of the zip archive `bytes`, in directory order. `name` (the file) starts
    /// every error.
    /// `limit`: the most bytes all members may hold once inflated, checked against each
    /// member's declared size before it is inflated (a 4 MB archive of zeros declaring 4.4 GB
    /// is refused from its directory, not by a failed allocation).
    static func read(_ bytes: [UInt8], name: String, limit: Int = Int.max) throws -> [Member] {
        guard bytes.count >= 22 else { throw Diagnostic("'\(name)': not a zip archive (too short)") }
        var end = -1
        for i in stride(from: bytes.count - 22, through: Swift.max(0, bytes.count - 22 - 65_535), by: -1)
        where bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 0x05 && bytes[i + 3] == 0x06 {
            end = i
            break
        }
        guard end >= 0 else { throw Diagnostic("'\(name)': not a zip archive (no end-of-directory record)") }
        var record = ByteReader(bytes, name: name)
        record.position = end + 4
        let disk = try record.uint(2, "the disk number"), directoryDisk = try record.uint(2, "the directory disk")
        _ = try record.uint(2, "the entry count")
        var count = try record.uint(2, "the entry count")
        _ = try record.uint(4, "the directory size")
        var directoryOffset = try record.uint(4, "the directory offset")
        if end >= 20, try zip64Locator(bytes, at: end - 20, name: name) {
            var locator = ByteReader(bytes, name: name)
            locator.position = end - 12
            var zip64 = ByteReader(bytes, name: name)
            zip64.position = Int(clamping: try locator.uint(8, "the zip64 end-of-directory offset"))
            guard try zip64.uint(4, "the zip64 end-of-directory record") == 0x0606_4B50 else {
                throw Diagnostic("'\(name)': corrupt zip archive (bad zip64 end-of-directory signature)")
            }
            _ = try zip64.take(20, "the zip64 end-of-directory record")
            _ = try zip64.uint(8, "the zip64 entry count")
            count = try zip64.uint(8, "the zip64 entry count")
            _ = try zip64.uint(8, "the zip64 directory size")
            directoryOffset = try zip64.uint(8, "the zip64 directory offset")
        } else if disk != 0 || directoryDisk != 0 {
            throw Diagnostic("'\(name)': multi-disk zip archives are not supported")
        }
        // Each directory entry takes at least 46 bytes, so a larger count is a corrupt field.
        guard count <= UInt64(bytes.count / 46) else {
            throw Diagnostic("'\(name)': corrupt zip archive (the directory claims \(count) entries)")
        }
        var directory = ByteReader(bytes, name: name)
        directory.position = Int(clamping: directoryOffset)
        var members: [Member] = []
        var seen: Set<String> = []
        var remaining = UInt64(Swift.max(limit, 0))
        for _ in 0..<Int(count) {
            let member = try readMember(bytes, directory: &directory, name: name, limit: limit, remaining: &remaining)
            guard seen.insert(member.name).inserted else { throw Diagnostic("'\(name)': member '\(member.name)' appears twice") }
            members.append(member)
        }
        return members
    }

    private static func zip64Locator(_ bytes: [UInt8], at offset: Int, name: String) throws -> Bool {
        var reader = ByteReader(bytes, name: name)
        reader.position = offset
        return try reader.uint(4, "the zip64 locator") == 0x0706_4B50
    }

    /// One central-directory entry and the member data it points to.
    private static func readMember(_ bytes: [UInt8], directory: inout ByteReader, name: String, limit: Int, remaining: inout UInt64) throws -> Member {
        guard try directory.uint(4, "a directory entry") == 0x0201_4B50 else {
            throw Diagnostic("'\(name)': corrupt zip directory (bad entry signature at offset \(directory.position - 4))")
        }
        _ = try directory.take(4, "an entry header")
        let flags = try directory.uint(2, "the entry flags"), method = try directory.uint(2, "the compression method")
        _ = try directory.take(4, "the entry time")
        let crc = UInt32(try directory.uint(4, "the CRC"))
        var compressed = try directory.uint(4, "the compressed size"), size = try directory.uint(4, "the size")
        let nameLength = Int(try directory.uint(2, "the name length")), extraLength = Int(try directory.uint(2, "the extra length"))
        let commentLength = Int(try directory.uint(2, "the comment length"))
        _ = try directory.take(8, "the entry attributes")
        var offset = try directory.uint(4, "the entry offset")
        let memberName = String(decoding: try directory.take(nameLength, "the entry name"), as: UTF8.self)
        var extra = ByteReader(Array(try directory.take(extraLength, "the extra field")), name: name)
        _ = try directory.take(commentLength, "the entry comment")
        while extra.remaining >= 4 {
            let id = try extra.uint(2, "an extra field"), length = Int(try extra.uint(2, "an extra field"))
            var field = ByteReader(Array(try extra.take(length, "the extra field of '\(memberName)'")), name: name)
            guard id == 0x0001 else { continue }
            // zip64: 64-bit values for exactly the 32-bit fields that are saturated, in this order.
            if size == saturated32 { size = try field.uint(8, "the zip64 size of '\(memberName)'") }
            if compressed == saturated32 { compressed = try field.uint(8, "the zip64 compressed size of '\(memberName)'") }
            if offset == saturated32 { offset = try field.uint(8, "the zip64 offset of '\(memberName)'") }
        }
        guard flags & 1 == 0 else { throw Diagnostic("'\(name)': member '\(memberName)' is encrypted") }
        guard size <= remaining else {
            throw Diagnostic("'\(name)': member '\(memberName)' holds \(size) bytes uncompressed, more than the \(remaining) left of the limit of \(limit) bytes for the archive (the memory budget: --memory-budget or KILN_MEMORY_BUDGET)")
        }
        remaining -= size

        var local = ByteReader(bytes, name: name)
        local.position = Int(clamping: offset)
        guard local.remaining >= 30, try local.uint(4, "a member header") == 0x0403_4B50 else {
            throw Diagnostic("'\(name)': member '\(memberName)' is missing (no member header at offset \(offset))")
        }
        _ = try local.take(22, "the header of member '\(memberName)'")
        let localName = Int(try local.uint(2, "a member name length")), localExtra = Int(try local.uint(2, "a member extra length"))
        let storedName = String(decoding: try local.take(localName, "the name of member '\(memberName)'"), as: UTF8.self)
        guard storedName == memberName else {
            throw Diagnostic("'\(name)': member header names '\(storedName)' where the directory says '\(memberName)'")
        }
        _ = try local.take(localExtra, "the extra field of member '\(memberName)'")
        let data = try local.take(Int(clamping: compressed), "the data of member '\(memberName)'")
        let content: [UInt8]
        switch method {
        case 0:
            guard compressed == size else {
                throw Diagnostic("'\(name)': stored member '\(memberName)' has \(compressed) bytes, the directory says \(size)")
            }
            content = Array(data)
        case 8:
            // Deflate cannot expand data by more than about 1032:1; a larger size is corrupt and
            // must not be allocated.
            guard size <= compressed &* 1032 &+ 1024, compressed < UInt64(Int.max / 1032) else {
                throw Diagnostic("'\(name)': member '\(memberName)' claims an impossible size \(size) for \(compressed) compressed bytes")
            }
            content = try Zlib.inflateRaw(data, expectedSize: Int(size), name: "'\(name)': member '\(memberName)'")
        default:
            throw Diagnostic("'\(name)': member '\(memberName)' uses unsupported compression method \(method) (only stored and deflated)")
        }
        guard Zlib.crc32(content[...]) == crc else {
            throw Diagnostic("'\(name)': member '\(memberName)' fails its CRC-32 check (corrupt data)")
        }
        return Member(name: memberName, data: content)
    }

    /// A zip archive of `members` in order: deflated where `compress` makes a member smaller,
    /// stored otherwise. zip64 fields are written where a size, offset or count needs them (or
    /// everywhere with `forceZip64`, which tests use to exercise that path on small data).
    static func write(_ members: [Member], compress: Bool = false, forceZip64: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = [], directory: [UInt8] = []
        for member in members {
            let name = Array(member.name.utf8), crc = Zlib.crc32(member.data[...])
            var payload = member.data, method: UInt16 = 0
            if compress, UInt64(member.data.count) < saturated32, let packed = Zlib.deflateRaw(member.data), packed.count < member.data.count {
                (payload, method) = (packed, 8)
            }
            let size = UInt64(member.data.count), compressed = UInt64(payload.count), offset = UInt64(bytes.count)
            let zip64 = forceZip64 || size >= saturated32 || compressed >= saturated32 || offset >= saturated32
            let flags: UInt16 = name.contains { $0 >= 0x80 } ? 0x0800 : 0  // UTF-8 names
            let version: UInt16 = zip64 ? 45 : 20
            func common(_ out: inout [UInt8]) {
                out.appendLittleEndian(version)
                out.appendLittleEndian(flags)
                out.appendLittleEndian(method)
                out.appendLittleEndian(UInt16(0))  // time 00:00
                out.appendLittleEndian(UInt16(0x21))  // date 1980-01-01
                out.appendLittleEndian(crc)
                out.appendLittleEndian(zip64 ? UInt32.max : UInt32(compressed))
                out.appendLittleEndian(zip64 ? UInt32.max : UInt32(size))
                out.appendLittleEndian(UInt16(name.count))
            }
            bytes.appendLittleEndian(UInt32(0x0403_4B50))
            common(&bytes)
            bytes.appendLittleEndian(UInt16(zip64 ? 20 : 0))
            bytes += name
            if zip64 {
                bytes.appendLittleEndian(UInt16(1)); bytes.appendLittleEndian(UInt16(16))
                bytes.appendLittleEndian(size); bytes.appendLittleEndian(compressed)
            }
            bytes += payload

            directory.appendLittleEndian(UInt32(0x0201_4B50))
            directory.appendLittleEndian(version)  // made by
            common(&directory)
            directory.appendLittleEndian(UInt16(zip64 ? 28 : 0))
            directory += [UInt8](repeating: 0, count: 10)  // comment length, disk, internal and external attributes
            directory.appendLittleEndian(zip64 ? UInt32.max : UInt32(offset))
            directory += name
            if zip64 {
                directory.appendLittleEndian(UInt16(1)); directory.appendLittleEndian(UInt16(24))
                directory.appendLittleEndian(size); directory.appendLittleEndian(compressed); directory.appendLittleEndian(offset)
            }
        }
        let directoryOffset = UInt64(bytes.count), directorySize = UInt64(directory.count), count = UInt64(members.count)
        bytes += directory
        let zip64End = forceZip64 || count >= 0xFFFF || directoryOffset >= saturated32 || directorySize >= saturated32
        if zip64End {
            let recordOffset = UInt64(bytes.count)
            bytes.appendLittleEndian(UInt32(0x0606_4B50))
            bytes.appendLittleEndian(UInt64(44))  // the size of the rest of this record
            bytes.appendLittleEndian(UInt16(45)); bytes.appendLittleEndian(UInt16(45))
            bytes.appendLittleEndian(UInt32(0)); bytes.appendLittleEndian(UInt32(0))
            bytes.appendLittleEndian(count); bytes.appendLittleEndian(count)
            bytes.appendLittleEndian(directorySize); bytes.appendLittleEndian(directoryOffset)
            bytes.appendLittleEndian(UInt32(0x0706_4B50))
            bytes.appendLittleEndian(UInt32(0)); bytes.appendLittleEndian(recordOffset); bytes.appendLittleEndian(UInt32(1))
        }
        bytes.appendLittleEndian(UInt32(0x0605_4B50))
        bytes.appendLittleEndian(UInt32(0))  // this disk, the directory's disk
        let count16 = zip64End ? UInt16.max : UInt16(count)
        bytes.appendLittleEndian(count16); bytes.appendLittleEndian(count16)
        bytes.appendLittleEndian(zip64End ? UInt32.max : UInt32(directorySize))
        bytes.appendLittleEndian(zip64End ? UInt32.max : UInt32(directoryOffset))
        bytes.appendLittleEndian(UInt16(0))  // comment length
        return bytes
    }
}
