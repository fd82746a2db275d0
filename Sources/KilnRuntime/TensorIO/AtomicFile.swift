import Foundation
import KilnIR

/// Writes go to a temporary file in the destination's directory and are renamed over the real
/// name only when complete, so a crash mid-write never leaves a half-written file behind.
enum AtomicFile {
    static func write(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw Diagnostic("cannot write '\(path)': cannot create a file in '\(directory)'")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Diagnostic("cannot write '\(path)': \(reason)")
        }
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Diagnostic("cannot read '\(path)': no such file or not readable")
        }
        return [UInt8](data)
    }
}

/// Little-endian reading over a byte array with bounds checks that report, not trap.
struct ByteReader {
    let bytes: [UInt8]
    let name: String
    var position = 0

    init(_ bytes: [UInt8], name: String) {
        self.bytes = bytes
        self.name = name
    }

    mutating func take(_ count: Int, _ what: String) throws -> ArraySlice<UInt8> {
        guard count >= 0, position + count <= bytes.count else {
            throw Diagnostic("'\(name)': truncated: \(what) needs \(count) bytes at offset \(position), the file has \(bytes.count)")
        }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func uint(_ size: Int, _ what: String) throws -> UInt64 {
        let slice = try take(size, what)
        var value: UInt64 = 0
        for (i, byte) in slice.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        return value
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        Swift.withUnsafeBytes(of: &v) { append(contentsOf: $0) }
    }
}

extension Tensor {
    /// A tensor filled from little-endian element bytes at `base`: 4-byte elements are copied,
    /// 8-byte integers narrowed to int32 (the first one that does not fit is reported as `what`
    /// says). Bounds were checked by the caller.
    static func decoding(_ type: TensorType, from bytes: [UInt8], at base: Int, elementSize: Int,
                         what: (Int64, Int) -> String) throws -> Tensor {
        let tensor = Tensor(zeros: type)
        let count = type.elementCount
        if elementSize == 8 {
            for i in 0..<count {
                var v: Int64 = 0
                for b in 0..<8 { v |= Int64(bytes[base + i * 8 + b]) << (8 * Int64(b)) }
                guard let narrow = Int32(exactly: v) else { throw Diagnostic(what(v, i)) }
                tensor.intPointer[i] = narrow
            }
        } else if count > 0 {
            bytes.withUnsafeBytes { raw in
                if let source = raw.baseAddress { tensor.storage.pointer.copyMemory(from: source + base, byteCount: count * 4) }
            }
        }
        return tensor
    }
}
