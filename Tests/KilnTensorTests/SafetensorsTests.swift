import Foundation
import KilnIR
import KilnTensor
import Testing

struct SafetensorsTests {
    static let tensors: [String: Tensor] = [
        "w1": Tensor([3, 4], floats: (0..<12).map { Float($0) / 3 }), "b1": Tensor([4], floats: [0, -0.5, .nan, 1e-30]),
        "step": Tensor(.scalar, ints: [42]), "big": Tensor([256, 300], floats: (0..<76_800).map { Float($0) }),
    ]

    @Test("round trip keeps tensors, bits and metadata")
    func roundTrip() throws {
        let bytes = try SafetensorsFormat.encode(Self.tensors, metadata: ["kiln.steps": "7", "note": "a \"quoted\" \\ value\n"])
        let (back, metadata) = try SafetensorsFormat.decode(bytes, name: "c.safetensors")
        #expect(metadata == ["kiln.steps": "7", "note": "a \"quoted\" \\ value\n"])
        #expect(back.keys.sorted() == Self.tensors.keys.sorted())
        for (key, t) in Self.tensors { #expect(identical(back[key], t), "\(key)") }
    }

    @Test("the header: sorted names, metadata first, data packed in name order and 8-byte aligned")
    func layout() throws {
        let bytes = try SafetensorsFormat.encode(["z": Tensor([1], ints: [1]), "a": Tensor([2, 1], floats: [1, 2])], metadata: ["k": "v"])
        let length = Int(bytes[0]) | Int(bytes[1]) << 8
        #expect(length % 8 == 0 && bytes.count == 8 + length + 12)
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        let json = #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]},"z":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(header == json + String(repeating: " ", count: 1) && length - json.utf8.count < 8)
        #expect(throws: Diagnostic("safetensors: a tensor cannot be named '__metadata__'")) {
            try SafetensorsFormat.encode(["__metadata__": Tensor.scalar(1)])
        }
    }

    @Test("I64 entries are narrowed with a range check, U8 widened")
    func otherDtypes() throws {
        let ok = Self.file(#"{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"u":{"dtype":"U8","shape":[2],"data_offsets":[16,18]}}"#,
                           littleEndianBytes([Int64(-3), 1 << 20]) + [200, 1])
        let (t, _) = try SafetensorsFormat.decode(ok, name: "c")
        #expect(t["n"]?.ints == [-3, 1 << 20] && t["u"]?.ints == [200, 1] && t["u"]?.dtype == .i32)
    }

    /// A safetensors file with this header text and data.
    static func file(_ header: String, _ data: [UInt8]) -> [UInt8] {
        littleEndianBytes([UInt64(header.utf8.count)]) + Array(header.utf8) + data
    }

    static let entry = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    static let corrupt: [(String, [UInt8], String)] = [
        ("empty", [], "'c.safetensors': truncated: the header length needs 8 bytes at offset 0, the file has 0"),
        ("length past the end", littleEndianBytes([UInt64(1000)]) + Array("{}".utf8), "'c.safetensors': header length 1000 exceeds the file (10 bytes)"),
        ("absurd length", littleEndianBytes([UInt64.max]), "'c.safetensors': header length 18446744073709551615 exceeds the limit of 100000000 bytes"),
        ("not JSON", file("{no}", []), "'c.safetensors': header is not a JSON object"),
        ("JSON array", file("[1, 2]", []), "'c.safetensors': header is not a JSON object"),
        ("missing offsets", file(#"{"w":{"dtype":"F32","shape":[2]}}"#, []), "'c.safetensors': entry 'w' needs dtype, shape and two data_offsets"),
        ("fractional shape", file(#"{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, [UInt8](repeating: 0, count: 8)),
         "'c.safetensors': entry 'w' has a bad shape (expected non-negative integers, at most 2^40 elements)"),
        ("overflowing shape", file(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#, []),
         "'c.safetensors': entry 'w' has a bad shape (expected non-negative integers, at most 2^40 elements)"),
        ("empty tensor", file(#"{"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#, []),
         "'c.safetensors': entry 'w' is empty (shape [0]), which Kiln cannot represent"),
        ("float16", file(#"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, [0, 0, 0, 0]),
         "'c.safetensors': entry 'w' has unsupported dtype F16 (expected F32, I32, I64 or U8)"),
        ("offsets out of range", file(entry, [0, 0, 0, 0]), "'c.safetensors': entry 'w' has data_offsets outside the 4 data bytes"),
        ("reversed offsets", file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, [UInt8](repeating: 0, count: 8)),
         "'c.safetensors': entry 'w' has data_offsets outside the 8 data bytes"),
        ("size mismatch", file(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, [UInt8](repeating: 0, count: 8)),
         "'c.safetensors': entry 'w' of shape [3] needs 12 bytes, has 8"),
        ("overlap", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}}"#,
                         [UInt8](repeating: 0, count: 8)), "'c.safetensors': entries 'a' and 'b' overlap"),
        ("int64 out of range", file(#"{"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, littleEndianBytes([Int64.min])),
         "'c.safetensors': entry 'n': int64 value -9223372036854775808 at index 0 does not fit in int32"),
        ("metadata not strings", file(#"{"__metadata__":{"epoch":3}}"#, []), "'c.safetensors': __metadata__ must map strings to strings"),
    ]

    @Test("corrupt checkpoints give exact errors", arguments: 0..<corrupt.count)
    func corruptFile(_ index: Int) {
        let (what, bytes, message) = Self.corrupt[index]
        #expect(throws: Diagnostic(message), "\(what)") { try SafetensorsFormat.decode(bytes, name: "c.safetensors") }
    }

    @Test("random truncations and byte flips throw or succeed, never trap")
    func fuzz() throws {
        let original = try SafetensorsFormat.encode(["a": Tensor([5], floats: [1, 2, 3, 4, 5]), "b": Tensor([2], ints: [1, 2])], metadata: ["m": "x"])
        var failures = 0
        mutations(of: original, count: 3000, seed: 5) { bytes in
            do { _ = try SafetensorsFormat.decode(bytes, name: "f") } catch { failures += 1 }
        }
        #expect(failures > 500)
    }

    @Test("an independent reader (Python json + numpy) agrees with Kiln both ways", .enabled(if: prerequisite(numpyAvailable), "needs NumPy (make test installs it)"))
    func pythonInterop() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try SafetensorsFormat.write(Self.tensors, metadata: ["epoch": "3"], to: directory + "/k.safetensors")
        #expect(runPython("""
            import numpy as np, sys, json, struct
            d = sys.argv[1]
            b = open(d + '/k.safetensors', 'rb').read()
            n = struct.unpack('<Q', b[:8])[0]
            h = json.loads(b[8:8 + n])
            assert h.pop('__metadata__') == {'epoch': '3'}
            data = b[8 + n:]
            def get(k):
                e = h[k]; lo, hi = e['data_offsets']
                return np.frombuffer(data[lo:hi], {'F32': '<f4', 'I32': '<i4'}[e['dtype']]).reshape(e['shape'])
            assert np.array_equal(get('w1'), (np.arange(12, dtype=np.float32) / np.float32(3)).reshape(3, 4))
            assert get('step').shape == () and get('step') == 42
            assert np.array_equal(get('big').ravel(), np.arange(76800, dtype=np.float32))
            assert sorted(h) == ['b1', 'big', 'step', 'w1'] and sum(e['data_offsets'][1] - e['data_offsets'][0] for e in h.values()) == len(data)
            w = np.arange(6, dtype=np.float32).reshape(2, 3); s = np.array([5, -6], np.int64)
            header = json.dumps({'s': {'dtype': 'I64', 'shape': [2], 'data_offsets': [0, 16]},
                                 'w': {'dtype': 'F32', 'shape': [2, 3], 'data_offsets': [16, 40]},
                                 '__metadata__': {'format': 'pt'}}).encode()
            open(d + '/p.safetensors', 'wb').write(struct.pack('<Q', len(header)) + header + s.tobytes() + w.tobytes())
            """, directory))
        let (tensors, metadata) = try SafetensorsFormat.read(path: directory + "/p.safetensors")
        #expect(metadata == ["format": "pt"])
        #expect(tensors["w"]?.floats == [0, 1, 2, 3, 4, 5] && tensors["w"]?.shape == Shape([2, 3]) && tensors["s"]?.ints == [5, -6])
    }
}
