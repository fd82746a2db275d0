import KilnIR

/// How elements are laid out in a file, as opposed to the Kiln dtype they become: float32 and
/// int32 are copied, int64 is narrowed to int32 with a range check, uint8 is widened to int32.
enum StoredElement: Sendable {
    case float32, int32, int64, uint8

    var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .int64: return 8
        case .uint8: return 1
        }
    }

    var dtype: DType { self == .float32 ? .f32 : .i32 }

    /// The stored form a Kiln tensor is written in.
    static func native(_ dtype: DType) -> StoredElement { dtype == .f32 ? .float32 : .int32 }

    /// A tensor of `shape` filled from little-endian element bytes at `base`. The caller has
    /// checked that `shape`'s elements fit in `bytes` from `base`. `outOfRange(value, index)`
    /// words the error for the first int64 that does not fit in int32.
    func decode(_ shape: Shape, from bytes: [UInt8], at base: Int,
                outOfRange: (Int64, Int) -> String) throws -> Tensor {
        let tensor = Tensor(uninitialized: TensorType(dtype, shape))
        let count = shape.elementCount
        guard count > 0 else { return tensor }
        try bytes.withUnsafeBytes { raw in
            guard let source = raw.baseAddress.map({ $0 + base }) else { return }
            switch self {
            case .float32, .int32:
                tensor.storage.pointer.copyMemory(from: source, byteCount: count * 4)
            case .uint8:
                for i in 0..<count { tensor.intPointer[i] = Int32(source.load(fromByteOffset: i, as: UInt8.self)) }
            case .int64:
                for i in 0..<count {
                    let v = Int64(littleEndian: source.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
                    guard let narrow = Int32(exactly: v) else { throw Diagnostic(outOfRange(v, i)) }
                    tensor.intPointer[i] = narrow
                }
            }
        }
        return tensor
    }
}

extension Tensor {
    /// The element bytes as stored in memory (little-endian on every platform Kiln runs on).
    var elementBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.pointer, count: type.byteCount) }
}
