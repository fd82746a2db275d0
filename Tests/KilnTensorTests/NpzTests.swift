import Foundation
import KilnIR
@testable import KilnTensor
import Testing

struct NpzTests {
    static let arrays: [String: Tensor] = [
        "scalar": Tensor.scalar(-1.25), "labels": Tensor([6], ints: [0, 9, 3, -1, Int32.max, 2]),
        "weights": Tensor([64, 100], floats: (0..<6400).map { Float($0 % 17) * 0.5 }),
    ]

    @Test("stored, deflated and zip64 archives round trip", arguments: [(false, false), (true, false), (false, true), (true, true)])
    func roundTrip(_ compressed: Bool, _ zip64: Bool) throws {
        let bytes = NumPyFormat.encodeArchive(Self.arrays, compressed: compressed, forceZip64: zip64)
        let back = try NumPyFormat.decodeArchive(bytes, name: "a.npz")
        #expect(back.keys.sorted() == Self.arrays.keys.sorted())
        for (key, t) in Self.arrays { #expect(identical(back[key], t), "\(key)") }
        if compressed { #expect(bytes.count < NumPyFormat.encodeArchive(Self.arrays).count / 2) }
    }

    /// A one-member stored archive of a.npy = [1, 2, 3, 4] and the offsets of its fields.
    static let plain = NumPyFormat.encodeArchive(["a": Tensor([4], floats: [1, 2, 3, 4])])
    static let localHeader = 0, dataStart = 30 + 5, directoryStart = dataStart + 144
    static func patched(_ bytes: [UInt8], _ changes: [Int: UInt8]) -> [UInt8] {
        var copy = bytes
        for (offset, value) in changes { copy[offset] = value }
        return copy
    }

    static let corrupt: [(String, [UInt8], String)] = [
        ("too short", [0x50, 0x4B], "'a.npz': not a zip archive (too short)"),
        ("no end record", [UInt8](repeating: 7, count: 100), "'a.npz': not a zip archive (no end-of-directory record)"),
        ("cut in half", Array(plain.prefix(plain.count / 2)), "'a.npz': not a zip archive (no end-of-directory record)"),
        ("data flipped", patched(plain, [dataStart + 140: 0x40]), "'a.npz': member 'a.npy' fails its CRC-32 check (corrupt data)"),
        ("method 12", patched(plain, [8: 12, directoryStart + 10: 12]),
         "'a.npz': member 'a.npy' uses unsupported compression method 12 (only stored and deflated)"),
        ("encrypted", patched(plain, [directoryStart + 8: 1]), "'a.npz': member 'a.npy' is encrypted"),
        ("member missing", patched(plain, [directoryStart + 42: 100]), "'a.npz': member 'a.npy' is missing (no member header at offset 100)"),
        ("member renamed", patched(plain, [30: UInt8(ascii: "b")]), "'a.npz': member header names 'b.npy' where the directory says 'a.npy'"),
        ("bad directory", patched(plain, [directoryStart: 0]), "'a.npz': corrupt zip directory (bad entry signature at offset \(directoryStart))"),
        ("entry count", patched(plain, [plain.count - 12: 0xFF, plain.count - 11: 0x7F]), "'a.npz': corrupt zip archive (the directory claims 32767 entries)"),
        ("stored size", patched(plain, [directoryStart + 22: 1, directoryStart + 26: 1]),
         "'a.npz': truncated: the data of member 'a.npy' needs 65680 bytes at offset 35, the file has \(plain.count)"),
        ("stored sizes differ", patched(plain, [directoryStart + 24: 143]), "'a.npz': stored member 'a.npy' has 144 bytes, the directory says 143"),
        ("multi-disk", patched(plain, [plain.count - 18: 1]), "'a.npz': multi-disk zip archives are not supported"),
    ]

    @Test("corrupt archives give exact errors", arguments: 0..<corrupt.count)
    func corruptArchive(_ index: Int) {
        let (what, bytes, message) = Self.corrupt[index]
        #expect(throws: Diagnostic(message), "\(what)") { try NumPyFormat.decodeArchive(bytes, name: "a.npz") }
    }

    @Test("deflated members: bad streams and impossible sizes are errors, before allocating")
    func corruptDeflate() throws {
        let packed = NumPyFormat.encodeArchive(["a": Tensor([1000], floats: [Float](repeating: 1, count: 1000))], compressed: true)
        let compressedSize = Int(packed[18]) | Int(packed[19]) << 8
        let directory = packed.count - 22 - 51
        var huge = packed
        for k in 0..<4 { huge[directory + 24 + k] = 0xFF }  // claims 4 GiB from a few dozen bytes
        #expect(throws: Diagnostic("'a.npz': member 'a.npy' claims an impossible size 4294967295 for \(compressedSize) compressed bytes")) {
            try NumPyFormat.decodeArchive(huge, name: "a.npz")
        }
        var short = packed
        short[directory + 24] &+= 1
        #expect(throws: Diagnostic("'a.npz': member 'a.npy': inflates to 4128 bytes, the archive says 4129")) {
            try NumPyFormat.decodeArchive(short, name: "a.npz")
        }
        var garbled = packed
        for k in 0..<6 { garbled[30 + 5 + k] = 0xFF }
        #expect {
            try NumPyFormat.decodeArchive(garbled, name: "a.npz")
        } throws: { error in
            (error as? Diagnostic)?.message.hasPrefix("'a.npz': member 'a.npy': corrupt deflate data (") == true
        }
        let bad = NumPyFormat.encodeArchive(["b": Tensor.scalar(1)]).enumerated().map { $0.offset == 35 ? 0 : $0.element }
        #expect(throws: Diagnostic.self) { try NumPyFormat.decodeArchive(bad, name: "a.npz") }
    }

    @Test("a deflate bomb is refused from the directory's sizes, against the limit, before inflating")
    func deflateBomb() throws {
        // 16 MiB of zeros compress to a few KiB: the archive is tiny, its arrays are not.
        let zeros = Tensor(zeros: TensorType(.f32, Shape([1 << 22])))
        let packed = NumPyFormat.encodeArchive(["a": zeros, "b": Tensor([2], floats: [1, 2])], compressed: true)
        #expect(packed.count < 100_000)
        let member = (1 << 24) + 128  // the .npy header and the data
        #expect(throws: Diagnostic("'bomb.npz': member 'a.npy' holds \(member) bytes uncompressed, more than the \(1 << 20) left of the limit of \(1 << 20) bytes for the archive (the memory budget: --memory-budget or KILN_MEMORY_BUDGET)")) {
            try NumPyFormat.decodeArchive(packed, name: "bomb.npz", limit: 1 << 20)
        }
        // The limit is for the whole archive: the second member counts what the first took.
        #expect(throws: Diagnostic.self) { try NumPyFormat.decodeArchive(packed, name: "bomb.npz", limit: member + 10) }
        #expect(try NumPyFormat.decodeArchive(packed, name: "bomb.npz", limit: member + 1000)["b"]?.floats == [1, 2])
    }

    @Test("a bad .npy member is named inside the archive")
    func badMember() {
        let archive = ZipArchive.write([.init(name: "x.npy", data: Array("not numpy".utf8))])
        #expect(throws: Diagnostic("'a.npz[x.npy]': not a .npy file (bad magic)")) { try NumPyFormat.decodeArchive(archive, name: "a.npz") }
        let twice = ZipArchive.write([.init(name: "x.npy", data: NumPyFormat.encode(.scalar(1))), .init(name: "x", data: NumPyFormat.encode(.scalar(2)))])
        #expect(throws: Diagnostic("'a.npz': two members are named 'x'")) { try NumPyFormat.decodeArchive(twice, name: "a.npz") }
    }

    @Test("random truncations and byte flips throw or succeed, never trap")
    func fuzz() {
        for (compressed, zip64) in [(false, false), (true, false), (true, true)] {
            let original = NumPyFormat.encodeArchive(["a": Tensor([40], floats: (0..<40).map(Float.init)), "b": Tensor([3], ints: [1, 2, 3])],
                                                     compressed: compressed, forceZip64: zip64)
            var failures = 0
            mutations(of: original, count: 1500, seed: compressed ? 11 : 12) { bytes in
                do { _ = try NumPyFormat.decodeArchive(bytes, name: "f") } catch { failures += 1 }
            }
            #expect(failures > 1000, "CRC-32 catches almost every flip")
        }
    }

    @Test("archives from numpy.savez and savez_compressed are read; numpy reads Kiln's (stored, deflated, zip64)",
          .enabled(if: prerequisite(numpyAvailable), "needs NumPy (make test installs it)"))
    func numpyInterop() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try NumPyFormat.writeArchive(Self.arrays, to: directory + "/k.npz")
        try NumPyFormat.writeArchive(Self.arrays, to: directory + "/kc.npz", compressed: true)
        try AtomicFile.write(NumPyFormat.encodeArchive(Self.arrays, compressed: true, forceZip64: true), to: directory + "/k64.npz")
        #expect(runPython("""
            import numpy as np, sys, zipfile
            d = sys.argv[1]
            for name in ['k', 'kc', 'k64']:
                z = np.load(d + '/' + name + '.npz')
                assert sorted(z.files) == ['labels', 'scalar', 'weights'], z.files
                assert z['scalar'].dtype == np.float32 and z['scalar'].shape == () and z['scalar'] == -1.25
                assert z['labels'].tolist() == [0, 9, 3, -1, 2**31 - 1, 2]
                assert np.array_equal(z['weights'], (np.arange(6400) % 17 * 0.5).astype(np.float32).reshape(64, 100))
                assert zipfile.ZipFile(d + '/' + name + '.npz').testzip() is None
            np.savez(d + '/s.npz', a=np.ones((2, 2), np.float32), b=np.array([3], np.int32), c=np.array([-7], np.int64))
            np.savez_compressed(d + '/c.npz', a=np.linspace(0, 1, 1000, dtype=np.float32), b=np.arange(12, dtype=np.uint8).reshape(3, 4))
            np.savez(d + '/p.npz', np.float32(5), np.zeros(3, np.int32))
            """, directory))
        let stored = try NumPyFormat.readArchive(path: directory + "/s.npz")
        #expect(stored["a"]?.floats == [1, 1, 1, 1] && stored["b"]?.ints == [3] && stored["c"]?.ints == [-7])
        let compressed = try NumPyFormat.readArchive(path: directory + "/c.npz")
        #expect(compressed["a"]?.elementCount == 1000 && compressed["a"]?.floats.last == 1 && compressed["b"]?.shape == Shape([3, 4]))
        #expect(try NumPyFormat.readArchive(path: directory + "/p.npz").keys.sorted() == ["arr_0", "arr_1"])
    }
}
