import Foundation

/// A static library (`ar` archive, System V / GNU format) written directly, so `kiln compile`
/// needs no binutils: a symbol index (the `/` member, which linkers need to pick members)
/// naming each member's defined symbols, then the members (names under 16 characters),
/// each padded to an even size. Dates, owners and modes are fixed: the same bundle gives the
/// same bytes (like `ar D`).
enum StaticArchive {
    static func make(_ members: [(name: String, object: Data, symbols: [String])]) -> [UInt8] {
        var index: [UInt8] = []
        let symbolCount = members.reduce(0) { $0 + $1.symbols.count }
        var names: [UInt8] = []
        for member in members {
            for symbol in member.symbols { names += Array(symbol.utf8) + [0] }
        }
        let indexSize = 4 + 4 * symbolCount + names.count
        // Members start after the magic, the index's header and its (even) body.
        var offset = 8 + 60 + indexSize + indexSize % 2
        var offsets: [Int] = []
        for member in members {
            offsets.append(offset)
            offset += 60 + member.object.count + member.object.count % 2
        }
        bigEndian(UInt32(symbolCount), into: &index)
        for (member, start) in zip(members, offsets) {
            for _ in member.symbols { bigEndian(UInt32(truncatingIfNeeded: start), into: &index) }
        }
        index += names
        var bytes = Array("!<arch>\n".utf8)
        append(name: "/", body: index, to: &bytes)
        for member in members { append(name: member.name + "/", body: [UInt8](member.object), to: &bytes) }
        return bytes
    }

    private static func bigEndian(_ value: UInt32, into bytes: inout [UInt8]) {
        bytes += [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static func field(_ text: String, _ width: Int) -> [UInt8] {
        let utf8 = Array(text.utf8.prefix(width))
        return utf8 + [UInt8](repeating: 0x20, count: width - utf8.count)
    }

    private static func append(name: String, body: [UInt8], to bytes: inout [UInt8]) {
        let fields: [[UInt8]] = [field(name, 16), field("0", 12), field("0", 6), field("0", 6), field("644", 8), field(String(body.count), 10)]
        for f in fields { bytes += f }
        bytes += Array("`\n".utf8)
        bytes += body
        if body.count % 2 == 1 { bytes.append(0x0A) }
    }
}
