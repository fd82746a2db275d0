/// A static shape: the extent of every axis, outermost first. Rank 0 is a scalar.
public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    public static let scalar = Shape([])

    public var rank: Int { dims.count }
    /// Number of elements (1 for a scalar).
    public var elementCount: Int { dims.reduce(1, *) }
    public subscript(axis: Int) -> Int { dims[axis] }

    /// Row-major strides in elements.
    public var strides: [Int] {
        var result = [Int](repeating: 1, count: dims.count)
        var running = 1
        for axis in stride(from: dims.count - 1, through: 0, by: -1) {
            result[axis] = running
            running *= dims[axis]
        }
        return result
    }

    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}

/// The type of an SSA value: element type and static shape, printed `f32[128, 784]`.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public var dtype: DType
    public var shape: Shape

    public init(_ dtype: DType, _ shape: Shape) {
        self.dtype = dtype
        self.shape = shape
    }

    public init(_ dtype: DType, _ dims: [Int]) { self.init(dtype, Shape(dims)) }

    public var rank: Int { shape.rank }
    public var elementCount: Int { shape.elementCount }
    public var byteCount: Int { elementCount * dtype.byteSize }

    public var description: String { "\(dtype)\(shape)" }
}
