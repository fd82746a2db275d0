import CZlib
import KilnIR

/// zlib's CRC-32 and raw inflate (the deflate streams inside zip archives).
enum Zlib {
    /// zlib takes 32-bit lengths; larger buffers go through in pieces of this size.
    private static let piece = 1 << 30

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = CZlib.crc32(0, nil, 0)
            var offset = 0
            while offset < buffer.count, let base = buffer.baseAddress {
                let n = Swift.min(piece, buffer.count - offset)
                crc = CZlib.crc32(crc, base + offset, uInt(n))
                offset += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    /// Inflates a raw deflate stream (no zlib or gzip wrapper) that must produce exactly
    /// `expectedSize` bytes; `name` starts every error.
    static func inflateRaw(_ input: ArraySlice<UInt8>, expectedSize: Int, name: String) throws -> [UInt8] {
        // One spare byte: a stream that would produce more than it should is caught, not cut.
        var output = [UInt8](repeating: 0, count: expectedSize + 1)
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Diagnostic("\(name): cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }
        let status: Int32 = input.withUnsafeBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                var status = Z_OK
                while status == Z_OK {
                    let consumed = Int(stream.total_in), produced = Int(stream.total_out)
                    if stream.avail_in == 0, consumed < inBuffer.count, let base = inBuffer.baseAddress {
                        stream.next_in = UnsafeMutablePointer(mutating: base + consumed)
                        stream.avail_in = uInt(Swift.min(piece, inBuffer.count - consumed))
                    }
                    if stream.avail_out == 0, produced < outBuffer.count, let base = outBuffer.baseAddress {
                        stream.next_out = base + produced
                        stream.avail_out = uInt(Swift.min(piece, outBuffer.count - produced))
                    }
                    status = inflate(&stream, Z_NO_FLUSH)
                }
                return status
            }
        }
        switch status {
        case Z_STREAM_END where Int(stream.total_out) == expectedSize:
            output.removeLast()
            return output
        case Z_STREAM_END:
            throw Diagnostic("\(name): inflates to \(stream.total_out) bytes, the archive says \(expectedSize)")
        case Z_BUF_ERROR where Int(stream.total_out) > expectedSize:
            throw Diagnostic("\(name): inflates to more than the \(expectedSize) bytes the archive says")
        case Z_BUF_ERROR:
            throw Diagnostic("\(name): truncated deflate data (\(stream.total_out) of \(expectedSize) bytes)")
        default:
            let reason = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
            throw Diagnostic("\(name): corrupt deflate data (\(reason))")
        }
    }

    /// Raw deflate of `input` (for tests and for writers that want compression).
    static func deflateRaw(_ input: [UInt8], level: Int32 = 6) -> [UInt8]? {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return Array(output.prefix(Int(stream.total_out)))
    }
}
