import Foundation
import KilnIR

/// NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), little-endian, C order:
/// float32 `<f4` and int32 `<i4` are read and written; int64 `<i8` is read as int32 when every
/// value fits, uint8 `|u1` is read as int32. Anything else is refused with a message naming
/// the file and the problem. Writes are atomic and byte-identical to `numpy.save`.
public enum NumPyFormat {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// Reads one `.npy` file.
    public static func read(path: String) throws -> Tensor {
        try decode(try AtomicFile.read(path), name: path)
    }

    /// Writes one `.npy` file atomically.
    public static func write(_ tensor: Tensor, to path: String) throws {
        try AtomicFile.write(encode(tensor), to: path)
    }

    /// Parses `.npy` bytes; `name` (the file) appears in every error.
    public static func decode(_ bytes: [UInt8], name: String) throws -> Tensor {
        var reader = ByteReader(bytes, name: name)
        guard Array(try reader.take(6, "the magic string")) == magic else {
            throw Diagnostic("'\(name)': not a .npy file (bad magic)")
        }
        let major = try reader.uint(1, "the version"), minor = try reader.uint(1, "the version")
        guard (1...3).contains(major), minor == 0 else { throw Diagnostic("'\(name)': unsupported .npy version \(major).\(minor)") }
        let headerLength = Int(try reader.uint(major == 1 ? 2 : 4, "the header length"))
        let headerBytes = try reader.take(headerLength, "the header")
        // Versions 1 and 2 store the header as latin-1, version 3 as UTF-8.
        guard let text = String(bytes: headerBytes, encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw Diagnostic("'\(name)': header is not valid \(major == 3 ? "UTF-8" : "latin-1") text")
        }
        let header = try NumPyHeader(text, name: name)
        let element = try storedElement(header.descr, name: name)
        guard !header.fortranOrder else { throw Diagnostic("'\(name)': Fortran-order arrays are not supported (save with order='C')") }
        guard let count = checkedElementCount(header.shape) else {
            throw Diagnostic("'\(name)': shape \(Shape(header.shape)) is too large")
        }
        guard count > 0 else { throw Diagnostic("'\(name)': empty arrays (shape \(Shape(header.shape))) are not supported") }
        guard reader.remaining == count * element.byteSize else {
            throw Diagnostic("'\(name)': shape \(Shape(header.shape)) needs \(count * element.byteSize) bytes of data, the file has \(reader.remaining)")
        }
        return try element.decode(Shape(header.shape), from: bytes, at: reader.position) { v, i in
            "'\(name)': int64 value \(v) at index \(i) does not fit in int32"
        }
    }

    private static func storedElement(_ descr: String, name: String) throws -> StoredElement {
        switch descr {
        case "<f4": return .float32
        case "<i4": return .int32
        case "<i8": return .int64
        case "|u1", "<u1": return .uint8
        default:
            if descr.hasPrefix(">") { throw Diagnostic("'\(name)': big-endian data ('\(descr)') is not supported") }
            if descr.hasSuffix("O") { throw Diagnostic("'\(name)': object arrays ('\(descr)') are not supported (they hold pickled Python objects)") }
            throw Diagnostic("'\(name)': unsupported dtype '\(descr)' (expected float32 '<f4', int32 '<i4', int64 '<i8' or uint8 '|u1')")
        }
    }

    /// `.npy` bytes as `numpy.save` writes them: version 1.0 (2.0 only for a header over 64 KiB),
    /// the header padded with spaces and a newline so that the data starts on a 64-byte boundary.
    public static func encode(_ tensor: Tensor) -> [UInt8] {
        var header = Array(NumPyHeader.text(for: tensor.type).utf8)
        let lengthSize = magic.count + 2 + 2 + header.count + 1 + 64 <= 65_535 ? 2 : 4
        // NumPy always pads, by a whole 64 bytes when the header happens to end aligned.
        let padding = 64 - (magic.count + 2 + lengthSize + header.count + 1) % 64
        header += [UInt8](repeating: 0x20, count: padding) + [0x0A]
        var bytes = magic + (lengthSize == 2 ? [1, 0] : [2, 0])
        bytes.reserveCapacity(bytes.count + lengthSize + header.count + tensor.type.byteCount)
        if lengthSize == 2 { bytes.appendLittleEndian(UInt16(header.count)) } else { bytes.appendLittleEndian(UInt32(header.count)) }
        bytes += header
        bytes += tensor.elementBytes
        return bytes
    }
}
