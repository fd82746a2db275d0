import KilnIR

/// Raw, 64-byte-aligned memory for tensor elements. A buffer either owns its memory or is a
/// view into memory owned elsewhere (an arena slice, kept alive by `owner`).
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int
    private let owner: AnyObject?
    private let ownsMemory: Bool

    /// Fresh zeroed memory.
    public init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(byteCount, 64), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(byteCount, 64))
        owner = nil
        ownsMemory = true
    }

    /// Memory whose contents are undefined: for buffers a kernel overwrites completely.
    public init(uninitializedByteCount byteCount: Int) {
        self.byteCount = byteCount
        pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(byteCount, 64), alignment: 64)
        owner = nil
        ownsMemory = true
    }

    /// A view of `byteCount` bytes at `pointer`, kept valid by holding `owner`.
    public init(viewing pointer: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject) {
        self.pointer = pointer
        self.byteCount = byteCount
        self.owner = owner
        ownsMemory = false
    }

    deinit { if ownsMemory { pointer.deallocate() } }
}

/// A typed, shaped, row-major tensor over a `TensorStorage`.
public struct Tensor: @unchecked Sendable {
    public let type: TensorType
    public private(set) var storage: TensorStorage

    public init(type: TensorType, storage: TensorStorage) {
        self.type = type
        self.storage = storage
    }

    /// Whether no other tensor shares this one's storage (a backend may then write into it
    /// without changing a value someone else holds). Mutating only to check the reference
    /// count in place: call it on the tensor where it is stored (`state[name]?.…`), not a copy.
    public mutating func hasUniqueStorage() -> Bool { isKnownUniquelyReferenced(&storage) }

    /// A zero-filled tensor.
    public init(zeros type: TensorType) {
        self.init(type: type, storage: TensorStorage(byteCount: type.byteCount))
    }

    /// A tensor whose elements are undefined until a kernel writes all of them (every kernel
    /// writes its whole output), which saves zeroing each intermediate.
    public init(uninitialized type: TensorType) {
        self.init(type: type, storage: TensorStorage(uninitializedByteCount: type.byteCount))
    }

    public init(_ shape: Shape, floats: [Float]) {
        precondition(floats.count == shape.elementCount, "element count \(floats.count) does not match \(shape)")
        self.init(zeros: TensorType(.f32, shape))
        floats.withUnsafeBytes { storage.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    public init(_ shape: Shape, ints: [Int32]) {
        precondition(ints.count == shape.elementCount, "element count \(ints.count) does not match \(shape)")
        self.init(zeros: TensorType(.i32, shape))
        ints.withUnsafeBytes { storage.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    public static func scalar(_ value: Float) -> Tensor { Tensor(.scalar, floats: [value]) }

    public var shape: Shape { type.shape }
    public var dtype: DType { type.dtype }
    public var elementCount: Int { type.elementCount }

    public var floatPointer: UnsafeMutablePointer<Float> { storage.pointer.assumingMemoryBound(to: Float.self) }
    public var intPointer: UnsafeMutablePointer<Int32> { storage.pointer.assumingMemoryBound(to: Int32.self) }

    /// The elements as floats (int32 elements are converted).
    public var floats: [Float] {
        switch dtype {
        case .f32: return Array(UnsafeBufferPointer(start: floatPointer, count: elementCount))
        case .i32: return UnsafeBufferPointer(start: intPointer, count: elementCount).map { Float($0) }
        }
    }

    /// The elements as int32 (float elements are truncated; NaN becomes 0 and values beyond
    /// the int32 range saturate, since `Int32(Float)` would trap on them).
    public var ints: [Int32] {
        switch dtype {
        case .i32: return Array(UnsafeBufferPointer(start: intPointer, count: elementCount))
        case .f32:
            return UnsafeBufferPointer(start: floatPointer, count: elementCount).map { v in
                v.isNaN ? 0 : v >= 2_147_483_648 ? .max : v <= -2_147_483_648 ? .min : Int32(v)
            }
        }
    }

    /// A deep copy in fresh storage.
    public func copy() -> Tensor {
        let result = Tensor(zeros: type)
        result.storage.pointer.copyMemory(from: storage.pointer, byteCount: type.byteCount)
        return result
    }
}

extension Tensor {
    /// The flat index and value of the first NaN or infinity (f32 only; integers are always
    /// finite), nil when there is none.
    public var firstNonFinite: (index: Int, value: Float)? {
        guard dtype == .f32 else { return nil }
        let p = floatPointer
        for i in 0..<elementCount where !p[i].isFinite { return (i, p[i]) }
        return nil
    }

    /// Throws unless every element is finite, naming `what` and the first bad element's row
    /// (index along the first axis) — data sets and loaded params with NaN otherwise train to
    /// NaN params silently (relu used to map NaN to 0) or fail far from the cause.
    public func checkFinite(_ what: String) throws {
        guard let (index, value) = firstNonFinite else { return }
        let kind = value.isNaN ? "NaN" : value > 0 ? "+infinity" : "-infinity"
        guard shape.rank >= 1, shape[0] > 0 else { throw Diagnostic("\(what) is \(kind)") }
        let rowSize = elementCount / shape[0]
        throw Diagnostic("\(what) holds \(kind) in row \(index / Swift.max(rowSize, 1)) (element \(index)); non-finite values are refused")
    }
}
