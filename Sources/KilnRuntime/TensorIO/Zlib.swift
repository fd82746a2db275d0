import CZlib
import KilnIR

/// zlib's CRC-32 and raw inflate (deflate streams inside zip archives).
enum Zlib {
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(CZlib.crc32(0, buffer.baseAddress, uInt(buffer.count)))
        }
    }

    /// Inflates a raw deflate stream that must produce exactly `expectedSize` bytes.
    static func inflateRaw(_ input: ArraySlice<UInt8>, expectedSize: Int, name: String) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: expectedSize)
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Diagnostic("\(name): cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }
        var input = Array(input)
        let status: Int32 = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                return inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END, Int(stream.total_out) == expectedSize else {
            throw Diagnostic("\(name): corrupt deflate data (zlib status \(status), \(stream.total_out) of \(expectedSize) bytes)")
        }
        return output
    }
}
