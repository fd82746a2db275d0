import CZlib
import Foundation
import KilnIR

/// Reads IDX files (the MNIST family's format), gzipped or not, through zlib's gzip reader.
/// Only unsigned-byte data (type 0x08) is accepted, which is what image and label files use.
public enum IDXReader {
    /// The file's dimensions and its raw bytes.
    public static func read(path: String) throws -> (dims: [Int], bytes: [UInt8]) {
        guard FileManager.default.fileExists(atPath: path) else { throw Diagnostic("'\(path)': no such file") }
        guard let file = gzopen(path, "rb") else { throw Diagnostic("'\(path)': cannot open") }
        defer { gzclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "unknown error"
                throw Diagnostic("'\(path)': corrupt gzip data (\(message))")
            }
            if n == 0 { break }
            bytes += chunk[0..<Int(n)]
        }
        return try parse(bytes, name: path)
    }

    /// Parses decompressed IDX bytes; `name` appears in errors.
    public static func parse(_ bytes: [UInt8], name: String) throws -> (dims: [Int], bytes: [UInt8]) {
        guard bytes.count >= 4 else { throw Diagnostic("'\(name)': truncated: no IDX header (\(bytes.count) bytes)") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw Diagnostic("'\(name)': not an IDX file (bad magic \(bytes[0..<4].map { String(format: "%02x", $0) }.joined()))")
        }
        guard bytes[2] == 0x08 else { throw Diagnostic("'\(name)': unsupported IDX data type 0x\(String(format: "%02x", bytes[2])) (only unsigned bytes, 0x08)") }
        let rank = Int(bytes[3])
        guard rank >= 1, bytes.count >= 4 + 4 * rank else { throw Diagnostic("'\(name)': truncated: header declares \(rank) dimensions") }
        var dims: [Int] = []
        for axis in 0..<rank {
            let o = 4 + 4 * axis
            dims.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let expected = dims.reduce(1, *), available = bytes.count - 4 - 4 * rank
        guard available == expected else {
            throw Diagnostic("'\(name)': dimensions \(dims) need \(expected) bytes of data, the file has \(available)")
        }
        return (dims, Array(bytes[(4 + 4 * rank)...]))
    }
}
