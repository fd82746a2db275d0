import Foundation
import KilnIR
import KilnTensor

/// A tensor whose value the importer knows: an initializer, a `Constant`, or the folded result
/// of a static shape computation (`Shape` → `Gather` → `Concat` → `Reshape`). Computed values
/// are held as doubles, exact for every int64 shape value Kiln can represent and for every
/// float. Float tensors read from the model (weights) are held as Kiln f32 storage instead — 4
/// bytes a value, handed to the checkpoint without a copy — and turned into doubles only when a
/// converter reads them as values (a Resize's scales), so a large model's weights are never
/// held as doubles.
struct ConstantTensor {
    var shape: [Int]
    /// Integer (int8…int64, bool) rather than floating point: it becomes an `i32` Kiln value.
    var isInteger: Bool
    private var doubles: [Double]
    private var floatData: Tensor?

    /// The values as doubles (computed from the f32 storage of a weight when asked).
    var values: [Double] {
        get { floatData.map { $0.floats.map(Double.init) } ?? doubles }
        set { doubles = newValue; floatData = nil }
    }

    var dtype: DType { isInteger ? .i32 : .f32 }
    var count: Int { floatData?.elementCount ?? doubles.count }
    var type: TensorType { TensorType(dtype, shape) }

    /// Every element equal (bit for bit): a `constant` node can stand for it.
    var isSplat: Bool {
        if let t = floatData {
            let p = t.floatPointer, n = t.elementCount
            guard n > 0 else { return false }
            for i in 1..<max(n, 1) where p[i].bitPattern != p[0].bitPattern { return false }
            return true
        }
        guard let first = doubles.first else { return false }
        return doubles.allSatisfy { $0.bitPattern == first.bitPattern }
    }

    /// The values as integers (shape vectors, axes, indices); an error for a non-integer value.
    func integers(_ what: String) throws -> [Int] {
        try values.map { v in
            guard v.isFinite, v.rounded() == v, abs(v) < 9.0e15 else {
                throw ConversionError("\(what) must hold integers, found \(v)")
            }
            return Int(v)
        }
    }

    /// Integers clamped to ±2^40 (Slice's starts/ends use INT64_MAX for "to the end").
    func clampedIntegers(_ what: String) throws -> [Int] {
        try values.map { v in
            guard !v.isNaN else { throw ConversionError("\(what) must hold integers, found nan") }
            return Int(Swift.min(Swift.max(v, -1_099_511_627_776), 1_099_511_627_776))
        }
    }

    /// The single value of a one-element tensor (a scalar attribute given as an input).
    func scalar(_ what: String) throws -> Double {
        guard values.count == 1 else { throw ConversionError("\(what) must have one element, has shape \(shape)") }
        return values[0]
    }

    /// Kiln storage for the value (f32, or i32 with a range check).
    func tensor(_ what: String) throws -> Tensor {
        if let t = floatData { return Tensor(type: TensorType(.f32, Shape(shape)), storage: t.storage) }
        if isInteger {
            let ints = try values.map { v -> Int32 in
                guard let i = Int32(exactly: v) else { throw ConversionError("\(what): value \(v) does not fit in int32") }
                return i
            }
            return Tensor(Shape(shape), ints: ints)
        }
        return Tensor(Shape(shape), floats: values.map { Float($0) })
    }

    init(shape: [Int], values: [Double], isInteger: Bool) {
        self.shape = shape
        self.doubles = values
        self.isInteger = isInteger
    }

    /// A float tensor held as f32 storage.
    init(floats t: Tensor) {
        shape = t.shape.dims
        doubles = []
        floatData = t
        isInteger = false
    }

    /// A rank-1 integer tensor.
    init(integers: [Int]) {
        self.init(shape: [integers.count], values: integers.map(Double.init), isInteger: true)
    }
}

/// ONNX `TensorProto.DataType` codes Kiln reads.
enum ONNXDataType {
    static let float: Int32 = 1, uint8: Int32 = 2, int8: Int32 = 3, uint16: Int32 = 4, int16: Int32 = 5
    static let int32: Int32 = 6, int64: Int32 = 7, string: Int32 = 8, bool: Int32 = 9, float16: Int32 = 10
    static let double: Int32 = 11, uint32: Int32 = 12, uint64: Int32 = 13

    static func name(_ code: Int32) -> String {
        let names: [Int32: String] = [1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
                                      8: "string", 9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64",
                                      14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz",
                                      19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1",
                                      24: "float8e8m0", 25: "uint2", 26: "int2"]
        return names[code] ?? "type \(code)"
    }

    /// The Kiln element type of an ONNX one: float → f32, the integer types and bool → i32.
    static func kilnType(_ code: Int32) -> DType? {
        switch code {
        case float: return .f32
        case uint8, int8, uint16, int16, int32, int64, bool, uint32, uint64: return .i32
        default: return nil
        }
    }
}

extension ConstantTensor {
    /// Decodes a `TensorProto` (raw little-endian bytes or the typed repeated fields).
    init(proto t: Onnx_TensorProto, what: String) throws {
        guard t.dataLocation != .external else {
            throw ConversionError("\(what) keeps its data in an external file, which Kiln does not read")
        }
        // A double constant (shape arithmetic, a scale) is read as a float value.
        guard let dtype = t.dataType == ONNXDataType.double ? .f32 : ONNXDataType.kilnType(t.dataType) else {
            throw ConversionError("\(what) has element type \(ONNXDataType.name(t.dataType)), which Kiln does not support (float and integer types only)")
        }
        let shape = try t.dims.map { d -> Int in
            guard d >= 0, d < 1 << 40 else { throw ConversionError("\(what) has a bad dimension \(d)") }
            return Int(d)
        }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= 1 << 40 else { throw ConversionError("\(what) is too large (shape \(shape))") }
            count = product
        }
        if t.dataType == ONNXDataType.float {
            // Weights: straight into f32 storage (no doubles, one copy).
            let tensor = Tensor(uninitialized: TensorType(.f32, Shape(shape)))
            if !t.rawData.isEmpty {
                guard t.rawData.count == count * 4 else {
                    throw ConversionError("\(what) of shape \(shape) needs \(count * 4) bytes of raw data, has \(t.rawData.count)")
                }
                // Raw data is little-endian, as every platform Kiln runs on.
                t.rawData.withUnsafeBytes { raw in
                    UnsafeMutableRawPointer(tensor.floatPointer).copyMemory(from: raw.baseAddress ?? UnsafeRawPointer(tensor.floatPointer), byteCount: count * 4)
                }
            } else {
                guard t.floatData.count == count else {
                    throw ConversionError("\(what) of shape \(shape) holds \(t.floatData.count) values, expected \(count)")
                }
                t.floatData.withUnsafeBufferPointer { b in
                    if let base = b.baseAddress { tensor.floatPointer.update(from: base, count: count) }
                }
            }
            self.init(floats: tensor)
            return
        }
        let values: [Double]
        if !t.rawData.isEmpty {
            let width: Int
            switch t.dataType {
            case ONNXDataType.double, ONNXDataType.int64, ONNXDataType.uint64: width = 8
            case ONNXDataType.float, ONNXDataType.int32, ONNXDataType.uint32: width = 4
            case ONNXDataType.int16, ONNXDataType.uint16: width = 2
            default: width = 1
            }
            guard t.rawData.count == count * width else {
                throw ConversionError("\(what) of shape \(shape) needs \(count * width) bytes of raw data, has \(t.rawData.count)")
            }
            values = Self.decodeRaw(Array(t.rawData), type: t.dataType, count: count)
        } else {
            switch t.dataType {
            case ONNXDataType.float: values = t.floatData.map(Double.init)
            case ONNXDataType.double: values = t.doubleData
            case ONNXDataType.int64: values = t.int64Data.map(Double.init)
            case ONNXDataType.uint32, ONNXDataType.uint64: values = t.uint64Data.map(Double.init)
            default: values = t.int32Data.map(Double.init)
            }
            guard values.count == count else {
                throw ConversionError("\(what) of shape \(shape) holds \(values.count) values, expected \(count)")
            }
        }
        self.init(shape: shape, values: values, isInteger: dtype == .i32)
    }

    private static func decodeRaw(_ bytes: [UInt8], type: Int32, count: Int) -> [Double] {
        func word(_ i: Int, _ width: Int) -> UInt64 {
            var v: UInt64 = 0
            for b in 0..<width { v |= UInt64(bytes[i * width + b]) << (8 * UInt64(b)) }
            return v
        }
        return (0..<count).map { i in
            switch type {
            case ONNXDataType.float: return Double(Float(bitPattern: UInt32(word(i, 4))))
            case ONNXDataType.double: return Double(bitPattern: word(i, 8))
            case ONNXDataType.int64: return Double(Int64(bitPattern: word(i, 8)))
            case ONNXDataType.uint64: return Double(word(i, 8))
            case ONNXDataType.int32: return Double(Int32(bitPattern: UInt32(word(i, 4))))
            case ONNXDataType.uint32: return Double(UInt32(word(i, 4)))
            case ONNXDataType.int16: return Double(Int16(bitPattern: UInt16(word(i, 2))))
            case ONNXDataType.uint16: return Double(UInt16(word(i, 2)))
            case ONNXDataType.int8: return Double(Int8(bitPattern: bytes[i]))
            default: return Double(bytes[i])
            }
        }
    }
}
