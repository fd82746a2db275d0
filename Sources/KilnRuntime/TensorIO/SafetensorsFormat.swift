import Foundation
import KilnIR

/// safetensors checkpoints: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets}, "__metadata__": {…}}`, then the packed data.
/// F32 and I32 are read and written; I64 is read as int32 with a range check.
public enum SafetensorsFormat {
    public static func read(path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        try decode(try AtomicFile.read(path), name: path)
    }

    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata), to: path)
    }

    public static func decode(_ bytes: [UInt8], name: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        var reader = ByteReader(bytes, name: name)
        let headerLength = try reader.uint(8, "the header length")
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw Diagnostic("'\(name)': header length \(headerLength) exceeds the file (\(bytes.count) bytes)")
        }
        let headerBytes = Data(try reader.take(Int(headerLength), "the header"))
        guard let header = (try? JSONSerialization.jsonObject(with: headerBytes)) as? [String: Any] else {
            throw Diagnostic("'\(name)': header is not a JSON object")
        }
        let dataStart = reader.position, dataLength = bytes.count - dataStart
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        var ranges: [(Int, Int, String)] = []
        for (key, value) in header {
            if key == "__metadata__" {
                guard let meta = value as? [String: String] else { throw Diagnostic("'\(name)': __metadata__ must map strings to strings") }
                metadata = meta
                continue
            }
            guard let entry = value as? [String: Any], let dtypeName = entry["dtype"] as? String,
                  let shapeValues = entry["shape"] as? [Any], let offsets = entry["data_offsets"] as? [Any], offsets.count == 2 else {
                throw Diagnostic("'\(name)': entry '\(key)' needs dtype, shape and two data_offsets")
            }
            let shape = try shapeValues.map { v -> Int in
                guard let d = (v as? NSNumber)?.intValue, d > 0 else { throw Diagnostic("'\(name)': entry '\(key)' has a bad shape") }
                return d
            }
            guard let begin = (offsets[0] as? NSNumber)?.intValue, let end = (offsets[1] as? NSNumber)?.intValue,
                  0 <= begin, begin <= end, end <= dataLength else {
                throw Diagnostic("'\(name)': entry '\(key)' has data_offsets outside the \(dataLength) data bytes")
            }
            let size: Int, dtype: DType
            switch dtypeName {
            case "F32": (dtype, size) = (.f32, 4)
            case "I32": (dtype, size) = (.i32, 4)
            case "I64": (dtype, size) = (.i32, 8)
            default: throw Diagnostic("'\(name)': entry '\(key)' has unsupported dtype \(dtypeName) (expected F32, I32 or I64)")
            }
            let count = shape.reduce(1, *)
            guard end - begin == count * size else {
                throw Diagnostic("'\(name)': entry '\(key)' of shape \(Shape(shape)) needs \(count * size) bytes, has \(end - begin)")
            }
            ranges.append((begin, end, key))
            let tensor = try Tensor.decoding(TensorType(dtype, Shape(shape)), from: bytes, at: dataStart + begin, elementSize: size) { v, _ in
                "'\(name)': entry '\(key)': int64 value \(v) does not fit in int32"
            }
            tensors[key] = tensor
        }
        ranges.sort { $0.0 < $1.0 }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.1 > b.0 {
            throw Diagnostic("'\(name)': entries '\(a.2)' and '\(b.2)' overlap")
        }
        return (tensors, metadata)
    }

    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var data: [UInt8] = []
        for name in tensors.keys.sorted() {
            guard let t = tensors[name] else { continue }
            header[name] = ["dtype": t.dtype == .f32 ? "F32" : "I32", "shape": t.shape.dims,
                            "data_offsets": [data.count, data.count + t.type.byteCount]] as [String: Any]
            data += UnsafeRawBufferPointer(start: t.storage.pointer, count: t.type.byteCount)
        }
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(UInt64(json.count))
        return bytes + json + data
    }
}
