import CZlib
import Foundation
import KilnData
import KilnIR
import Testing

/// IDX bytes: magic (0, 0, type, rank), big-endian dimensions, data.
func idxBytes(_ dims: [Int], _ data: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, UInt8(dims.count)]
    for d in dims { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
    return bytes + data
}

/// A fresh directory for one test's files; the test removes it when done.
func makeTemporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "kiln-data-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes `bytes` gzipped with zlib (or plain) to `path`, or to a new file in `directory`.
@discardableResult
func writeFile(_ bytes: [UInt8], gzip: Bool = true, path: String? = nil, in directory: String = NSTemporaryDirectory()) throws -> String {
    let path = path ?? directory + "/idx-\(UUID().uuidString)" + (gzip ? ".gz" : "")
    if gzip {
        let file = try #require(gzopen(path, "wb"))
        _ = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        gzclose(file)
    } else {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
    return path
}

/// A class so that `deinit` removes each test's directory.
final class IDXReaderTests {
    let directory: String

    init() throws { directory = try makeTemporaryDirectory() }
    deinit { try? FileManager.default.removeItem(atPath: directory) }
    @Test("a gzipped image file is read with its type and dimensions")
    func images() throws {
        let data = (0..<24).map { UInt8($0 * 10) }
        let array = try IDXReader.read(path: try writeFile(idxBytes([2, 3, 4], data), in: directory), expecting: .uint8, rank: 3)
        #expect(array.dims == [2, 3, 4] && array.bytes == data && array.dataType == .uint8 && array.count == 24)
    }

    @Test("uncompressed IDX files are read too")
    func plain() throws {
        #expect(try IDXReader.read(path: try writeFile(idxBytes([3], [7, 8, 9]), gzip: false, in: directory)).bytes == [7, 8, 9])
    }

    @Test("every IDX element type decodes big-endian values")
    func dataTypes() throws {
        let cases: [(UInt8, [UInt8], [Double])] = [
            (0x08, [0, 255], [0, 255]), (0x09, [0x80, 0x7F], [-128, 127]), (0x0B, [0xFF, 0xFE, 0x01, 0x00], [-2, 256]),
            (0x0C, [0xFF, 0xFF, 0xFF, 0xFF, 0, 1, 0, 0], [-1, 65536]),
            (0x0D, [0x3F, 0xC0, 0, 0, 0xC0, 0x20, 0, 0], [1.5, -2.5]),
            (0x0E, [0x3F, 0xF8, 0, 0, 0, 0, 0, 0, 0xC0, 0x04, 0, 0, 0, 0, 0, 0], [1.5, -2.5]),
        ]
        for (type, data, values) in cases {
            let array = try IDXReader.parse(idxBytes([2], data, type: type), name: "t")
            #expect((0..<array.count).map(array.value(at:)) == values, "type \(type)")
        }
    }

    static let corrupt: [(String, [UInt8], String)] = [
        ("empty", [], "'t': truncated: no IDX header (0 bytes)"),
        ("gzip magic", [0x1F, 0x8B, 8, 0], "'t': not an IDX file (bad magic 1f8b0800)"),
        ("unknown type", idxBytes([1], [0], type: 0x0A), "'t': unknown IDX data type 0x0a"),
        ("no dimensions", [0, 0, 8, 0], "'t': the IDX header declares no dimensions"),
        ("truncated dimensions", Array(idxBytes([60000, 28, 28], []).prefix(10)),
         "'t': truncated: the header declares 3 dimensions (16 bytes), the file has 10 bytes"),
        ("short data", idxBytes([2, 3], [1, 2, 3, 4]), "'t': dimensions [2, 3] of unsigned bytes need 6 bytes of data, the file has 4"),
        ("long data", idxBytes([2], [1, 2, 3]), "'t': dimensions [2] of unsigned bytes need 2 bytes of data, the file has 3"),
        ("float sizes", idxBytes([2], [0, 0, 0, 0], type: 0x0D), "'t': dimensions [2] of float32 need 8 bytes of data, the file has 4"),
        ("overflowing dimensions", idxBytes([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], []),
         "'t': dimensions [4294967295, 4294967295, 4294967295] of unsigned bytes need more than 2^63 bytes of data, the file has 0"),
    ]

    @Test("bad IDX bytes give exact errors", arguments: 0..<corrupt.count)
    func corruptBytes(_ index: Int) {
        let (what, bytes, message) = Self.corrupt[index]
        #expect(throws: Diagnostic(message), "\(what)") { try IDXReader.parse(bytes, name: "t") }
    }

    @Test("bad files: missing, wrong magic for the role, truncated or corrupt gzip")
    func badFiles() throws {
        #expect(throws: Diagnostic("'/nonexistent/x.gz': cannot open: No such file or directory")) { try IDXReader.read(path: "/nonexistent/x.gz") }
        let labels = try writeFile(idxBytes([3], [1, 2, 3]), in: directory)
        #expect(throws: Diagnostic("'\(labels)': expected unsigned bytes in 3 dimensions (magic 0x00000803), found unsigned bytes in 1 (magic 0x00000801)")) {
            try IDXReader.read(path: labels, expecting: .uint8, rank: 3)
        }
        let floats = try writeFile(idxBytes([1], [0, 0, 0, 0], type: 0x0D), in: directory)
        #expect(throws: Diagnostic("'\(floats)': expected unsigned bytes in 1 dimensions (magic 0x00000801), found float32 in 1 (magic 0x00000d01)")) {
            try IDXReader.read(path: floats, expecting: .uint8, rank: 1)
        }
        let payload = idxBytes([100, 100], (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) })
        let whole = try Data(contentsOf: URL(fileURLWithPath: try writeFile(payload, in: directory)))
        let truncated = try writeFile([UInt8](whole.prefix(whole.count / 2)), gzip: false, in: directory)
        #expect(throws: Diagnostic("'\(truncated)': truncated gzip data (unexpected end of file)")) { try IDXReader.read(path: truncated) }
        var flipped = [UInt8](whole)
        flipped[flipped.count - 6] ^= 0xFF  // the CRC-32 in the gzip trailer
        let corrupt = try writeFile(flipped, gzip: false, in: directory)
        #expect(throws: Diagnostic("'\(corrupt)': corrupt gzip data (incorrect data check)")) { try IDXReader.read(path: corrupt) }
    }

    @Test("random truncations and byte flips of gzipped files throw or succeed, never trap")
    func fuzz() throws {
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try writeFile(idxBytes([4, 5], (0..<20).map(UInt8.init)), in: directory))))
        let path = directory + "/fuzz.gz"
        var state: UInt64 = 3, failures = 0
        for _ in 0..<300 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            var bytes = Array(whole.prefix(Int(state >> 33) % (whole.count + 1)))
            if !bytes.isEmpty, state & 1 == 1 { bytes[Int(state >> 13) % bytes.count] ^= UInt8(truncatingIfNeeded: state >> 40) | 1 }
            try writeFile(bytes, gzip: false, path: path)
            do { _ = try IDXReader.read(path: path) } catch { failures += 1 }
        }
        #expect(failures > 200)
    }
}
