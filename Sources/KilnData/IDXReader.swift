import CZlib
import Foundation
import KilnIR

/// The element type byte of an IDX header (the third byte of the magic number).
public enum IDXDataType: UInt8, Sendable, CustomStringConvertible {
    case uint8 = 0x08, int8 = 0x09, int16 = 0x0B, int32 = 0x0C, float32 = 0x0D, float64 = 0x0E

    public var byteSize: Int {
        switch self {
        case .uint8, .int8: return 1
        case .int16: return 2
        case .int32, .float32: return 4
        case .float64: return 8
        }
    }

    public var description: String {
        switch self {
        case .uint8: return "unsigned bytes"
        case .int8: return "signed bytes"
        case .int16: return "int16"
        case .int32: return "int32"
        case .float32: return "float32"
        case .float64: return "float64"
        }
    }
}

/// An IDX array: its element type, its dimensions and its data, big-endian as stored.
public struct IDXArray: Sendable {
    public var dataType: IDXDataType
    public var dims: [Int]
    /// The data bytes after the header (elements big-endian, row-major).
    public var bytes: [UInt8]

    public var count: Int { bytes.count / dataType.byteSize }

    /// Element `i` as a Double, whatever the stored type.
    public func value(at i: Int) -> Double {
        let size = dataType.byteSize, base = i * size
        var bits: UInt64 = 0
        for k in 0..<size { bits = bits << 8 | UInt64(bytes[base + k]) }
        switch dataType {
        case .uint8: return Double(bits)
        case .int8: return Double(Int8(truncatingIfNeeded: bits))
        case .int16: return Double(Int16(truncatingIfNeeded: bits))
        case .int32: return Double(Int32(truncatingIfNeeded: bits))
        case .float32: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: bits)))
        case .float64: return Double(bitPattern: bits)
        }
    }
}

/// Reads IDX files (the MNIST family's format), gzipped or not, through zlib's gzip reader,
/// which passes uncompressed files through unchanged.
public enum IDXReader {
    /// The array in the file at `path`.
    public static func read(path: String) throws -> IDXArray {
        try parse(try gunzip(path: path), name: path)
    }

    /// The array in the file at `path`, which must hold `dataType` elements in `rank`
    /// dimensions (an image file: unsigned bytes, rank 3, magic 0x00000803).
    public static func read(path: String, expecting dataType: IDXDataType, rank: Int) throws -> IDXArray {
        let array = try read(path: path)
        guard array.dataType == dataType, array.dims.count == rank else {
            throw Diagnostic("'\(path)': expected \(dataType) in \(rank) dimensions (magic \(magic(dataType, rank))), found \(array.dataType) in \(array.dims.count) (magic \(magic(array.dataType, array.dims.count)))")
        }
        return array
    }

    static func magic(_ type: IDXDataType, _ rank: Int) -> String { String(format: "0x0000%02x%02x", type.rawValue, rank) }

    /// The whole decompressed content of a gzip (or plain) file.
    static func gunzip(path: String) throws -> [UInt8] {
        guard let file = gzopen(path, "rb") else {
            throw Diagnostic("'\(path)': cannot open: \(String(cString: strerror(errno)))")
        }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 17)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n > 0 {
                bytes += chunk[0..<Int(n)]
                continue
            }
            // gzread reports a stream cut short as end of file with Z_BUF_ERROR pending.
            var code: Int32 = 0
            // zlib prefixes its message with the path, which the diagnostic already names.
            var message = gzerror(file, &code).map { String(cString: $0) } ?? ""
            if message.hasPrefix(path + ": ") { message.removeFirst(path.count + 2) }
            if code == Z_BUF_ERROR { throw Diagnostic("'\(path)': truncated gzip data (\(message))") }
            if n < 0 || code != Z_OK { throw Diagnostic("'\(path)': corrupt gzip data (\(message))") }
            return bytes
        }
    }

    /// Parses decompressed IDX bytes; `name` (the file) appears in every error.
    public static func parse(_ bytes: [UInt8], name: String) throws -> IDXArray {
        guard bytes.count >= 4 else { throw Diagnostic("'\(name)': truncated: no IDX header (\(bytes.count) bytes)") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw Diagnostic("'\(name)': not an IDX file (bad magic \(bytes[0..<4].map { String(format: "%02x", $0) }.joined()))")
        }
        guard let dataType = IDXDataType(rawValue: bytes[2]) else {
            throw Diagnostic("'\(name)': unknown IDX data type 0x\(String(format: "%02x", bytes[2]))")
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw Diagnostic("'\(name)': the IDX header declares no dimensions") }
        let dataStart = 4 + 4 * rank
        guard bytes.count >= dataStart else {
            throw Diagnostic("'\(name)': truncated: the header declares \(rank) dimensions (\(dataStart) bytes), the file has \(bytes.count) bytes")
        }
        var dims: [Int] = []
        var count = dataType.byteSize
        for axis in 0..<rank {
            let o = 4 + 4 * axis
            let d = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dims.append(d)
            // Each dimension is below 2^32, so this product overflows only past 2^63: stop early.
            count = count.multipliedReportingOverflow(by: d).overflow ? Int.max : count * d
        }
        let available = bytes.count - dataStart
        guard available == count else {
            throw Diagnostic("'\(name)': dimensions \(dims) of \(dataType) need \(count == Int.max ? "more than 2^63" : String(count)) bytes of data, the file has \(available)")
        }
        return IDXArray(dataType: dataType, dims: dims, bytes: Array(bytes[dataStart...]))
    }
}
