import KilnIR
import KilnSupport

/// safetensors checkpoints: an 8-byte little-endian header length, a JSON header
/// `{name: {"dtype", "shape", "data_offsets"}, "__metadata__": {string: string}}` and the packed
/// data. F32 and I32 are read and written; I64 (narrowed with a range check) and U8 (widened)
/// are read as int32. Offsets are checked to lie in the data and not to overlap.
public enum SafetensorsFormat {
    /// The reference implementation refuses headers over 100 MB; so does Kiln, before allocating.
    static let maximumHeaderLength: UInt64 = 100_000_000

    /// Reads the checkpoint at `path`: its tensors and its `__metadata__`.
    public static func read(path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        try decode(try AtomicFile.read(path), name: path)
    }

    /// Writes `tensors` (data in sorted name order) and `metadata` atomically.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata), to: path)
    }

    /// Parses safetensors bytes; `name` (the file) appears in every error.
    public static func decode(_ bytes: [UInt8], name: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        var reader = ByteReader(bytes, name: name)
        let headerLength = try reader.uint(8, "the header length")
        guard headerLength <= maximumHeaderLength else {
            throw Diagnostic("'\(name)': header length \(headerLength) exceeds the limit of \(maximumHeaderLength) bytes")
        }
        guard headerLength <= UInt64(reader.remaining) else {
            throw Diagnostic("'\(name)': header length \(headerLength) exceeds the file (\(bytes.count) bytes)")
        }
        let headerBytes = Array(try reader.take(Int(headerLength), "the header"))
        guard headerBytes.first == UInt8(ascii: "{"), let header = JSONValue.parse(headerBytes)?.object else {
            throw Diagnostic("'\(name)': header is not a JSON object")
        }
        let dataStart = reader.position, dataLength = reader.remaining
        var tensors: [String: Tensor] = [:], metadata: [String: String] = [:]
        var ranges: [(begin: Int, end: Int, key: String)] = []
        for (key, value) in header.sorted(by: { $0.key < $1.key }) {
            if key == "__metadata__" {
                guard let entries = value.object, entries.values.allSatisfy({ $0.string != nil }) else {
                    throw Diagnostic("'\(name)': __metadata__ must map strings to strings")
                }
                metadata = entries.compactMapValues(\.string)
                continue
            }
            guard let entry = value.object, let dtypeName = entry["dtype"]?.string, let shapeValues = entry["shape"]?.array,
                  let offsets = entry["data_offsets"]?.array, offsets.count == 2 else {
                throw Diagnostic("'\(name)': entry '\(key)' needs dtype, shape and two data_offsets")
            }
            let dims = shapeValues.compactMap(\.integer)
            guard dims.count == shapeValues.count, let count = checkedElementCount(dims) else {
                throw Diagnostic("'\(name)': entry '\(key)' has a bad shape (expected non-negative integers, at most 2^40 elements)")
            }
            guard count > 0 else { throw Diagnostic("'\(name)': entry '\(key)' is empty (shape \(Shape(dims))), which Kiln cannot represent") }
            let element: StoredElement
            switch dtypeName {
            case "F32": element = .float32
            case "I32": element = .int32
            case "I64": element = .int64
            case "U8": element = .uint8
            default: throw Diagnostic("'\(name)': entry '\(key)' has unsupported dtype \(dtypeName) (expected F32, I32, I64 or U8)")
            }
            guard let begin = offsets[0].integer, let end = offsets[1].integer, 0 <= begin, begin <= end, end <= dataLength else {
                throw Diagnostic("'\(name)': entry '\(key)' has data_offsets outside the \(dataLength) data bytes")
            }
            guard end - begin == count * element.byteSize else {
                throw Diagnostic("'\(name)': entry '\(key)' of shape \(Shape(dims)) needs \(count * element.byteSize) bytes, has \(end - begin)")
            }
            ranges.append((begin, end, key))
            tensors[key] = try element.decode(Shape(dims), from: bytes, at: dataStart + begin) { v, i in
                "'\(name)': entry '\(key)': int64 value \(v) at index \(i) does not fit in int32"
            }
        }
        ranges.sort { $0.begin < $1.begin }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.end > b.begin {
            throw Diagnostic("'\(name)': entries '\(a.key)' and '\(b.key)' overlap")
        }
        return (tensors, metadata)
    }

    /// The safetensors bytes of `tensors` and `metadata`: keys sorted, data packed in key order,
    /// the header padded with spaces so that the data starts 8-byte aligned.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        guard tensors["__metadata__"] == nil else { throw Diagnostic("safetensors: a tensor cannot be named '__metadata__'") }
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { JSONText.quoted($0.key) + ":" + JSONText.quoted($0.value) }
            fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        let ordered = tensors.sorted { $0.key < $1.key }
        var offset = 0
        for (key, t) in ordered {
            let dtype = t.dtype == .f32 ? "F32" : "I32", dims = t.shape.dims.map(String.init).joined(separator: ",")
            fields.append(JSONText.quoted(key) + ":{\"dtype\":\"\(dtype)\",\"shape\":[\(dims)],\"data_offsets\":[\(offset),\(offset + t.type.byteCount)]}")
            offset += t.type.byteCount
        }
        var json = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + json.count + offset)
        bytes.appendLittleEndian(UInt64(json.count))
        bytes += json
        for (_, t) in ordered { bytes += t.elementBytes }
        return bytes
    }
}
