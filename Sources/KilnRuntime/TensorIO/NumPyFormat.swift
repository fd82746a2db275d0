import Foundation
import KilnIR

/// NumPy `.npy` (format versions 1–3): float32 ('<f4'), int32 ('<i4'), and int64 ('<i8', read
/// as int32 with a range check), little-endian, C order. Anything else is refused with a message.
public enum NumPyFormat {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    public static func read(path: String) throws -> Tensor {
        try decode(try AtomicFile.read(path), name: path)
    }

    public static func write(_ tensor: Tensor, to path: String) throws {
        try AtomicFile.write(encode(tensor), to: path)
    }

    /// Parses `.npy` bytes; `name` appears in errors.
    public static func decode(_ bytes: [UInt8], name: String) throws -> Tensor {
        var reader = ByteReader(bytes, name: name)
        guard Array(try reader.take(6, "the magic string")) == magic else {
            throw Diagnostic("'\(name)': not a .npy file (bad magic)")
        }
        let major = try reader.uint(1, "the version"), _ = try reader.uint(1, "the version")
        guard (1...3).contains(major) else { throw Diagnostic("'\(name)': unsupported .npy version \(major)") }
        let headerLength = Int(try reader.uint(major == 1 ? 2 : 4, "the header length"))
        let headerBytes = try reader.take(headerLength, "the header")
        guard let header = String(bytes: headerBytes, encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw Diagnostic("'\(name)': header is not text")
        }
        let (descr, fortran, shape) = try parseHeader(header, name: name)
        guard !fortran else { throw Diagnostic("'\(name)': Fortran-order arrays are not supported (save with order='C')") }
        let count = shape.reduce(1, *)
        let payload = bytes.count - reader.position
        let (dtype, size): (DType, Int)
        switch descr {
        case "<f4": (dtype, size) = (.f32, 4)
        case "<i4": (dtype, size) = (.i32, 4)
        case "<i8": (dtype, size) = (.i32, 8)
        case ">f4", ">i4", ">i8": throw Diagnostic("'\(name)': big-endian data ('\(descr)') is not supported")
        default: throw Diagnostic("'\(name)': unsupported dtype '\(descr)' (expected float32 '<f4', int32 '<i4' or int64 '<i8')")
        }
        guard payload == count * size else {
            throw Diagnostic("'\(name)': shape \(Shape(shape)) needs \(count * size) bytes of data, the file has \(payload)")
        }
        let tensor = try Tensor.decoding(TensorType(dtype, Shape(shape)), from: bytes, at: reader.position, elementSize: size) { v, i in
            "'\(name)': int64 value \(v) at index \(i) does not fit in int32"
        }
        return tensor
    }

    /// `.npy` version 1.0 bytes, header padded so the data starts 64-byte aligned.
    public static func encode(_ tensor: Tensor) -> [UInt8] {
        let dims = tensor.shape.dims
        let shape = dims.isEmpty ? "()" : dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(tensor.dtype == .f32 ? "<f4" : "<i4")', 'fortran_order': False, 'shape': \(shape), }"
        let unpadded = 6 + 2 + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes = magic + [1, 0]
        bytes.appendLittleEndian(UInt16(header.utf8.count))
        bytes += Array(header.utf8)
        bytes += UnsafeRawBufferPointer(start: tensor.storage.pointer, count: tensor.type.byteCount)
        return bytes
    }

    /// Reads the Python-literal header dict: 'descr', 'fortran_order', 'shape'.
    private static func parseHeader(_ header: String, name: String) throws -> (String, Bool, [Int]) {
        func value(of key: String) throws -> Substring {
            guard let keyRange = header.range(of: "'\(key)'"),
                  let colon = header[keyRange.upperBound...].firstIndex(of: ":") else {
                throw Diagnostic("'\(name)': header has no '\(key)'")
            }
            return header[header.index(after: colon)...].drop { $0 == " " }
        }
        let descrValue = try value(of: "descr")
        guard descrValue.first == "'" || descrValue.first == "\"",
              let end = descrValue.dropFirst().firstIndex(where: { $0 == "'" || $0 == "\"" }) else {
            throw Diagnostic("'\(name)': malformed 'descr' in header")
        }
        let descr = String(descrValue[descrValue.index(after: descrValue.startIndex)..<end])
        let fortranValue = try value(of: "fortran_order")
        guard fortranValue.hasPrefix("True") || fortranValue.hasPrefix("False") else {
            throw Diagnostic("'\(name)': malformed 'fortran_order' in header")
        }
        let shapeValue = try value(of: "shape")
        guard shapeValue.first == "(", let close = shapeValue.firstIndex(of: ")") else {
            throw Diagnostic("'\(name)': malformed 'shape' in header")
        }
        var dims: [Int] = []
        for part in shapeValue[shapeValue.index(after: shapeValue.startIndex)..<close].split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            guard let d = Int(text), d >= 0 else { throw Diagnostic("'\(name)': malformed dimension '\(text)' in shape") }
            dims.append(d)
        }
        guard !dims.contains(0) else { throw Diagnostic("'\(name)': empty arrays (a zero dimension) are not supported") }
        guard dims.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) < Int.max / 8 else {
            throw Diagnostic("'\(name)': shape is too large")
        }
        return (descr, fortranValue.hasPrefix("True"), dims)
    }
}
