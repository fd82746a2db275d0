import Foundation
import KilnIR
import KilnRuntime
import Testing

struct TensorIOTests {
    let directory: String = {
        let path = NSTemporaryDirectory() + "kiln-io-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static let samples: [Tensor] = [
        Tensor(.scalar, floats: [3.5]), Tensor([5], ints: [1, -2, 3, 2_000_000_000, -7]),
        Tensor([2, 3, 4], floats: (0..<24).map { Float($0) * 0.25 - 3 }), Tensor([1000], floats: (0..<1000).map { Float($0).squareRoot() }),
    ]

    @Test("npy, npz and safetensors round trips keep type and bits")
    func roundTrips() throws {
        for (i, t) in Self.samples.enumerated() {
            let npy = try NumPyFormat.decode(NumPyFormat.encode(t), name: "t.npy")
            #expect(npy.type == t.type && npy.ints == t.ints, "sample \(i)")
        }
        let named = Dictionary(uniqueKeysWithValues: Self.samples.enumerated().map { ("t\($0.offset)", $0.element) })
        let npz = try NumPyFormat.decodeArchive(NumPyFormat.encodeArchive(named), name: "a.npz")
        let st = try SafetensorsFormat.decode(try SafetensorsFormat.encode(named, metadata: ["step": "7"]), name: "c.safetensors")
        #expect(st.metadata == ["step": "7"])
        for (key, t) in named {
            #expect(npz[key]?.type == t.type && npz[key]?.ints == t.ints)
            #expect(st.tensors[key]?.type == t.type && st.tensors[key]?.ints == t.ints)
        }
    }

    @Test("the .npy header leaves the data 64-byte aligned")
    func alignment() throws {
        let bytes = NumPyFormat.encode(Tensor([3], floats: [1, 2, 3]))
        #expect((bytes.count - 12) % 64 == 0)
    }

    static func npy(_ header: String, _ payload: [UInt8]) -> [UInt8] {
        var h = header
        while (10 + h.utf8.count + 1) % 64 != 0 { h += " " }
        h += "\n"
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(h.utf8.count & 0xFF), UInt8(h.utf8.count >> 8)]
        bytes += Array(h.utf8)
        return bytes + payload
    }

    static let corrupt: [(String, [UInt8], String)] = [
        ("empty", [], "'x.npy': truncated: the magic string needs 6 bytes at offset 0, the file has 0"),
        ("bad magic", Array("PK\u{3}\u{4}hello world".utf8), "'x.npy': not a .npy file (bad magic)"),
        ("truncated header", Array(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", [0, 0, 0, 0, 0, 0, 0, 0]).prefix(30)),
         "'x.npy': truncated: the header needs 118 bytes at offset 10, the file has 30"),
        ("float64", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", [UInt8](repeating: 0, count: 8)),
         "'x.npy': unsupported dtype '<f8' (expected float32 '<f4', int32 '<i4' or int64 '<i8')"),
        ("fortran order", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", [UInt8](repeating: 0, count: 16)),
         "'x.npy': Fortran-order arrays are not supported (save with order='C')"),
        ("big endian", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0]),
         "'x.npy': big-endian data ('>f4') is not supported"),
        ("short data", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", [0, 0, 0, 0]),
         "'x.npy': shape [3] needs 12 bytes of data, the file has 4"),
        ("int64 out of range", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0, 1, 0, 0, 0]),
         "'x.npy': int64 value 4294967296 at index 0 does not fit in int32"),
        ("bad shape", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", []),
         "'x.npy': malformed dimension 'x' in shape"),
        ("no shape", npy("{'descr': '<f4', 'fortran_order': False, }", []), "'x.npy': header has no 'shape'"),
        ("version 9", [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 9, 0, 0, 0], "'x.npy': unsupported .npy version 9"),
    ]

    @Test("corrupt .npy files give exact errors", arguments: 0..<corrupt.count)
    func corruptNpy(_ index: Int) {
        let (_, bytes, message) = Self.corrupt[index]
        #expect(throws: Diagnostic(message)) { try NumPyFormat.decode(bytes, name: "x.npy") }
    }

    @Test("corrupt archives and checkpoints give errors naming the problem")
    func corruptArchives() throws {
        var archive = NumPyFormat.encodeArchive(["a": Tensor([4], floats: [1, 2, 3, 4])])
        archive[archive.count / 3] ^= 0xFF
        #expect(throws: Diagnostic.self) { try NumPyFormat.decodeArchive(archive, name: "a.npz") }
        #expect(throws: Diagnostic("'a.npz': not a .npz file (no zip end-of-directory record)")) {
            try NumPyFormat.decodeArchive([UInt8](repeating: 7, count: 100), name: "a.npz")
        }
        var checkpoint = try SafetensorsFormat.encode(["w": Tensor([2], floats: [1, 2])])
        checkpoint[0] = 0xFF
        #expect(throws: Diagnostic.self) { try SafetensorsFormat.decode(checkpoint, name: "c.safetensors") }
        let badJSON: [UInt8] = [4, 0, 0, 0, 0, 0, 0, 0] + Array("{no}".utf8)
        #expect(throws: Diagnostic("'c.safetensors': header is not a JSON object")) { try SafetensorsFormat.decode(badJSON, name: "c.safetensors") }
        let header = Array("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}".utf8)
        var outOfRange: [UInt8] = []
        outOfRange.append(contentsOf: withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init))
        outOfRange += header + [0, 0, 0, 0]
        #expect(throws: Diagnostic("'c.safetensors': entry 'w' has data_offsets outside the 4 data bytes")) {
            try SafetensorsFormat.decode(outOfRange, name: "c.safetensors")
        }
    }

    @Test("random truncations and byte flips never crash")
    func fuzz() {
        let valid = [NumPyFormat.encode(Self.samples[2]), NumPyFormat.encodeArchive(["a": Self.samples[2]]),
                     (try? SafetensorsFormat.encode(["a": Self.samples[2]])) ?? []]
        var state: UInt64 = 42
        for _ in 0..<300 {
            for (kind, original) in valid.enumerated() {
                state = KilnRandom.mix(state)
                var bytes = Array(original.prefix(Int(state % UInt64(original.count + 1))))
                if !bytes.isEmpty, state & 1 == 1 { bytes[Int(state >> 8) % bytes.count] ^= UInt8(truncatingIfNeeded: state >> 16) | 1 }
                switch kind {
                case 0: _ = try? NumPyFormat.decode(bytes, name: "f")
                case 1: _ = try? NumPyFormat.decodeArchive(bytes, name: "f")
                default: _ = try? SafetensorsFormat.decode(bytes, name: "f")
                }
            }
        }
    }

    @Test("writes are atomic: the file appears whole and no temporary is left behind")
    func atomicWrites() throws {
        let path = directory + "/w.npy"
        try NumPyFormat.write(Self.samples[2], to: path)
        try NumPyFormat.write(Self.samples[3], to: path)
        #expect(try NumPyFormat.read(path: path).type == Self.samples[3].type)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["w.npy"])
        #expect(throws: Diagnostic.self) { try NumPyFormat.write(Self.samples[0], to: directory + "/missing/dir/x.npy") }
    }

    @Test("files NumPy wrote are read, and files Kiln wrote load in NumPy")
    func numpyInterop() throws {
        let script = """
            import numpy as np, sys
            d = sys.argv[1]
            np.save(d + '/f.npy', np.arange(6, dtype=np.float32).reshape(2, 3) / 4)
            np.save(d + '/l.npy', np.array([1, -5, 7], dtype=np.int64))
            np.savez(d + '/s.npz', a=np.ones((2, 2), np.float32), b=np.array([3], np.int32))
            np.savez_compressed(d + '/c.npz', a=np.linspace(0, 1, 1000, dtype=np.float32))
            """
        guard runPython(script, directory) else {
            print("note: numpy not available, interop test skipped (make test installs it)")
            return
        }
        #expect(try NumPyFormat.read(path: directory + "/f.npy").floats == [0, 0.25, 0.5, 0.75, 1, 1.25])
        #expect(try NumPyFormat.read(path: directory + "/l.npy").ints == [1, -5, 7])
        let stored = try NumPyFormat.readArchive(path: directory + "/s.npz")
        #expect(stored["a"]?.floats == [1, 1, 1, 1] && stored["b"]?.ints == [3])
        let compressed = try #require(try NumPyFormat.readArchive(path: directory + "/c.npz")["a"])
        #expect(compressed.elementCount == 1000 && compressed.floats.last == 1)

        try NumPyFormat.write(Tensor([2, 2], floats: [1, 2, 3, 4]), to: directory + "/k.npy")
        try NumPyFormat.writeArchive(["x": Tensor([3], ints: [4, 5, 6])], to: directory + "/k.npz")
        #expect(runPython("""
            import numpy as np, sys
            d = sys.argv[1]
            assert np.load(d + '/k.npy').tolist() == [[1, 2], [3, 4]]
            assert np.load(d + '/k.npz')['x'].tolist() == [4, 5, 6]
            """, directory))
    }

    func runPython(_ script: String, _ argument: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, argument]
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
