import KilnIR

/// Little-endian reading over a byte array with bounds checks that report, not trap.
struct ByteReader {
    let bytes: [UInt8]
    let name: String
    var position = 0

    init(_ bytes: [UInt8], name: String) {
        self.bytes = bytes
        self.name = name
    }

    var remaining: Int { Swift.max(0, bytes.count - position) }

    mutating func take(_ count: Int, _ what: String) throws -> ArraySlice<UInt8> {
        // Written so that a huge count or position (from a corrupt size field) cannot overflow.
        guard count >= 0, position <= bytes.count, count <= bytes.count - position else {
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

/// Tensors larger than this many elements are refused when read (the IR's cap on shapes).
let maximumElementCount = 1 << 40

/// The element count of `dims`, or nil when a dimension is negative or the product exceeds
/// `maximumElementCount` (a corrupt header must not overflow the arithmetic that follows).
func checkedElementCount(_ dims: [Int]) -> Int? {
    var count = 1
    for d in dims {
        guard d >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: d)
        guard !overflow, product <= maximumElementCount else { return nil }
        count = product
    }
    return count
}
