import Foundation
import KilnIR
import KilnTensor
import Testing

struct NpyTests {
    static let samples: [Tensor] = [
        Tensor(.scalar, floats: [3.5]), Tensor(.scalar, ints: [-9]),
        Tensor([5], ints: [1, -2, Int32.max, Int32.min, 0]),
        Tensor([2, 3, 4], floats: (0..<24).map { Float($0) * 0.25 - 3 }),
        Tensor([4], floats: [.nan, .infinity, -.infinity, -0.0]),
        Tensor([300, 1000], floats: (0..<300_000).map { Float($0).squareRoot() }),
    ]

    @Test("round trips keep dtype, shape and every bit", arguments: 0..<samples.count)
    func roundTrip(_ index: Int) throws {
        let t = Self.samples[index]
        let bytes = NumPyFormat.encode(t)
        #expect(identical(try NumPyFormat.decode(bytes, name: "t.npy"), t))
        #expect((bytes.count - t.type.byteCount) % 64 == 0, "data starts 64-byte aligned")
    }

    @Test("the header is the one numpy.save writes: sorted keys, growth spaces, 64-byte padding")
    func headerText() {
        let bytes = NumPyFormat.encode(Tensor([2, 3], floats: [0, 1, 2, 3, 4, 5]))
        #expect(Array(bytes.prefix(10)) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 118, 0])
        let header = String(decoding: bytes[10..<128], as: UTF8.self)
        #expect(header == "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + String(repeating: " ", count: 58) + "\n")
        let scalar = NumPyFormat.encode(Tensor.scalar(1))
        #expect(String(decoding: scalar[10..<128], as: UTF8.self).hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (), }   "))
    }

    @Test("versions 2.0 and 3.0, int64, uint8 and Python 2 headers are read")
    func readVariants() throws {
        let floats = littleEndianBytes([Float(1.5).bitPattern, Float(-2).bitPattern])
        let v2 = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats, version: 2)
        #expect(try NumPyFormat.decode(v2, name: "v2").floats == [1.5, -2])
        let v3 = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), 'note': 'π', }", floats, version: 3)
        #expect(try NumPyFormat.decode(v3, name: "v3").shape == Shape([1, 2]))
        let int64 = npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", littleEndianBytes([Int64(-5), 0, Int64(Int32.max)]))
        let narrowed = try NumPyFormat.decode(int64, name: "l")
        #expect(narrowed.dtype == .i32 && narrowed.ints == [-5, 0, Int32.max])
        let bytes = npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", [0, 7, 200, 255])
        #expect(try NumPyFormat.decode(bytes, name: "u").ints == [0, 7, 200, 255])
        let python2 = npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (1L, 2L)}", littleEndianBytes([Int32(4), 5]))
        #expect(try NumPyFormat.decode(python2, name: "p").ints == [4, 5])
        let reordered = npyBytes("{ \"shape\" : (2,) , \"fortran_order\":False,'descr':'<f4'}", floats)
        #expect(try NumPyFormat.decode(reordered, name: "r").floats == [1.5, -2])
    }

    static let f4 = "'descr': '<f4', 'fortran_order': False"
    static let corrupt: [(String, [UInt8], String)] = [
        ("empty", [], "'x.npy': truncated: the magic string needs 6 bytes at offset 0, the file has 0"),
        ("bad magic", Array("PK\u{3}\u{4}hello world".utf8), "'x.npy': not a .npy file (bad magic)"),
        ("version 9", [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 9, 0, 0, 0], "'x.npy': unsupported .npy version 9.0"),
        ("no header length", [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 1], "'x.npy': truncated: the header length needs 4 bytes at offset 8, the file has 9"),
        ("truncated header", Array(npyBytes("{\(f4), 'shape': (2,), }", [UInt8](repeating: 0, count: 8)).prefix(30)),
         "'x.npy': truncated: the header needs 118 bytes at offset 10, the file has 30"),
        ("float64", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", [UInt8](repeating: 0, count: 8)),
         "'x.npy': unsupported dtype '<f8' (expected float32 '<f4', int32 '<i4', int64 '<i8' or uint8 '|u1')"),
        ("fortran order", npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", [UInt8](repeating: 0, count: 16)),
         "'x.npy': Fortran-order arrays are not supported (save with order='C')"),
        ("big endian", npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0]),
         "'x.npy': big-endian data ('>f4') is not supported"),
        ("object array", npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", [0x80, 2]),
         "'x.npy': object arrays ('|O') are not supported (they hold pickled Python objects)"),
        ("structured", npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0]),
         "'x.npy': 'descr' is a list, not a dtype string (structured arrays are not supported)"),
        ("short data", npyBytes("{\(f4), 'shape': (3,), }", [0, 0, 0, 0]), "'x.npy': shape [3] needs 12 bytes of data, the file has 4"),
        ("trailing data", npyBytes("{\(f4), 'shape': (1,), }", [0, 0, 0, 0, 9]), "'x.npy': shape [1] needs 4 bytes of data, the file has 5"),
        ("int64 out of range", npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", littleEndianBytes([Int64(1), 1 << 32])),
         "'x.npy': int64 value 4294967296 at index 1 does not fit in int32"),
        ("bad dimension", npyBytes("{\(f4), 'shape': (2, x), }", []), "'x.npy': malformed dimension 'x' in shape"),
        ("negative dimension", npyBytes("{\(f4), 'shape': (-2,), }", []), "'x.npy': malformed dimension '-2' in shape"),
        ("zero dimension", npyBytes("{\(f4), 'shape': (0, 3), }", []), "'x.npy': empty arrays (shape [0, 3]) are not supported"),
        ("huge shape", npyBytes("{\(f4), 'shape': (4294967296, 4294967296), }", []), "'x.npy': shape [4294967296, 4294967296] is too large"),
        ("no shape", npyBytes("{\(f4), }", []), "'x.npy': header has no 'shape'"),
        ("shape not a tuple", npyBytes("{\(f4), 'shape': 3, }", []), "'x.npy': malformed 'shape' in header (expected a tuple)"),
        ("fortran not a bool", npyBytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", [0, 0, 0, 0]),
         "'x.npy': malformed 'fortran_order' in header (expected True or False)"),
        ("not a dict", npyBytes("descr=<f4", []), "'x.npy': malformed header: expected '{' at character 1, found 'd'"),
        ("unclosed dict", npyBytes("{\(f4), 'shape': (1,)", [0, 0, 0, 0]), "'x.npy': malformed header: expected ',' or '}' at character 119, found the end"),
        ("repeated key", npyBytes("{\(f4), 'shape': (1,), 'shape': (2,)}", []), "'x.npy': header repeats the key 'shape'"),
        ("bad UTF-8", npyBytes("{\(f4), 'shape': (1,), }", [0, 0, 0, 0], version: 3).enumerated().map { $0.offset == 12 ? 0xFF : $0.element },
         "'x.npy': header is not valid UTF-8 text"),
    ]

    @Test("corrupt .npy files give exact errors", arguments: 0..<corrupt.count)
    func corruptFile(_ index: Int) {
        let (what, bytes, message) = Self.corrupt[index]
        #expect(throws: Diagnostic(message), "\(what)") { try NumPyFormat.decode(bytes, name: "x.npy") }
    }

    @Test("random truncations and byte flips: a cut file or a broken header throws, flipped data decodes, nothing traps")
    func fuzz() throws {
        var failures = 0, dataOnly = 0, total = 0
        // Every float32 bit pattern is a value; an int64 flip may leave int32's range, which is refused.
        let cases: [(bytes: [UInt8], dataBytes: Int, elements: Int, anyDataDecodes: Bool)] = [
            (NumPyFormat.encode(Self.samples[3]), Self.samples[3].type.byteCount, 24, true),
            (npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", littleEndianBytes([Int64(1), 2])), 16, 2, false),
        ]
        for (original, dataBytes, elements, anyDataDecodes) in cases {
            let headerBytes = original.count - dataBytes
            mutations(of: original, count: 2000, seed: 7) { bytes in
                total += 1
                let decoded: Tensor?
                do { decoded = try NumPyFormat.decode(bytes, name: "f") } catch { decoded = nil; failures += 1 }
                // A file shorter than the original cannot hold its data: it must be refused.
                if bytes.count < original.count { #expect(decoded == nil, "a file cut to \(bytes.count) of \(original.count) bytes decoded") }
                // Flips that spare the header only change values: the file must still decode, same shape.
                if anyDataDecodes && bytes.count == original.count && bytes.prefix(headerBytes) == original.prefix(headerBytes) {
                    dataOnly += 1
                    #expect(decoded?.elementCount == elements, "a data-only flip was refused or changed the shape")
                }
            }
        }
        // Seeded (mutations(seed: 7): 271 data-only flips of the float file): the properties
        // above must have been exercised, and most other mutations refused.
        #expect(total == 4000 && dataOnly > 200, "total \(total), data-only \(dataOnly)")
        #expect(failures * 2 > total - dataOnly, "\(failures) of \(total - dataOnly) header mutations and cuts detected")
    }

    @Test("files numpy.save wrote are read; Kiln's files are byte-identical to numpy.save's", .enabled(if: prerequisite(numpyAvailable), "needs NumPy (make test installs it)"))
    func numpyInterop() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try NumPyFormat.write(Tensor([2, 3], floats: [0, 0.25, 0.5, 0.75, 1, 1.25]), to: directory + "/k23.npy")
        try NumPyFormat.write(Tensor(.scalar, ints: [-4]), to: directory + "/ks.npy")
        try NumPyFormat.write(Tensor([123_456], floats: (0..<123_456).map { Float($0) }), to: directory + "/kl.npy")
        #expect(runPython("""
            import numpy as np, sys, io, os
            d = sys.argv[1]
            def saved(a):
                b = io.BytesIO(); np.save(b, a); return b.getvalue()
            expected = {'k23': np.arange(6, dtype=np.float32).reshape(2, 3) / 4, 'ks': np.array(-4, np.int32),
                        'kl': np.arange(123456, dtype=np.float32)}
            for k, a in expected.items():
                assert open(os.path.join(d, k + '.npy'), 'rb').read() == saved(a), k
                assert np.array_equal(np.load(os.path.join(d, k + '.npy')), a), k
            np.save(d + '/f.npy', np.arange(6, dtype=np.float32).reshape(2, 3) / 4)
            np.save(d + '/l.npy', np.array([1, -5, 7], dtype=np.int64))
            np.save(d + '/u.npy', np.array([[0, 255]], dtype=np.uint8))
            np.save(d + '/s.npy', np.float32(2.5))
            with open(d + '/v2.npy', 'wb') as f:
                np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], np.int32), version=(2, 0))
            with open(d + '/v3.npy', 'wb') as f:
                np.lib.format.write_array(f, np.array([9], np.float32), version=(3, 0))
            np.save(d + '/t.npy', np.ones((2, 3), np.float32).T)
            np.save(d + '/d.npy', np.ones(2))
            """, directory))
        #expect(try NumPyFormat.read(path: directory + "/f.npy").floats == [0, 0.25, 0.5, 0.75, 1, 1.25])
        #expect(try NumPyFormat.read(path: directory + "/l.npy").ints == [1, -5, 7])
        #expect(try NumPyFormat.read(path: directory + "/u.npy").ints == [0, 255])
        #expect(identical(try NumPyFormat.read(path: directory + "/s.npy"), Tensor.scalar(2.5)))
        #expect(try NumPyFormat.read(path: directory + "/v2.npy").ints == [1, 2, 3, 4])
        #expect(try NumPyFormat.read(path: directory + "/v3.npy").floats == [9])
        #expect(throws: Diagnostic("'\(directory)/t.npy': Fortran-order arrays are not supported (save with order='C')")) {
            try NumPyFormat.read(path: directory + "/t.npy")
        }
        #expect(throws: Diagnostic("'\(directory)/d.npy': unsupported dtype '<f8' (expected float32 '<f4', int32 '<i4', int64 '<i8' or uint8 '|u1')")) {
            try NumPyFormat.read(path: directory + "/d.npy")
        }
    }
}
