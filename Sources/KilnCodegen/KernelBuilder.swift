import KilnIR

/// Collects a kernel's buffers, variables and failure messages while an op is lowered.
public struct KernelBuilder {
    public let name: String
    public private(set) var buffers: [KernelBuffer] = []
    private var bufferIndex: [String: Int] = [:]
    private var failures: [Failure] = []
    private var counter = 0

    /// Values produced by `constant` nodes: kernels use the number itself instead of loading
    /// the filled buffer (constants folded into code).
    public let constants: [String: Expr]
    /// The machine the kernels are for (vector width, registers, threads, caches).
    public let target: CodegenTarget
    /// Elementwise ops a fused contraction wants applied to its result: a lowering that can
    /// apply them inside its register tiles takes them (sets this to nil); otherwise they run
    /// as a separate epilogue kernel.
    var tileEpilogue: TileEpilogue?
    /// Set by a lowering that took `tileEpilogue.product` from a scratch tile, never writing it
    /// into the result buffer it would be staged in.
    var productKeptOut = false
    /// The first internal inconsistency met while lowering — a value without a type, a buffer
    /// or a definition, an op without a scalar meaning. The closures that build loops cannot
    /// throw, so a lowering records it here and goes on with a placeholder; `Lowering.lower`
    /// then throws it and the kernel (placeholder included) is never returned.
    public private(set) var loweringError: String?

    public init(name: String, constants: [String: Expr] = [:], target: CodegenTarget = .avx2) {
        self.name = name
        self.constants = constants
        self.target = target
    }

    /// The kernel buffer of graph value `value` (one per value, however often it is asked for).
    public mutating func buffer(_ value: String, _ type: TensorType) -> Int {
        if let index = bufferIndex[value] { return index }
        buffers.append(KernelBuffer(name: value, type: ScalarType(type.dtype), count: type.shape.elementCount))
        bufferIndex[value] = buffers.count - 1
        return buffers.count - 1
    }

    /// Makes `value` name the buffer of `other` (a GEMM epilogue reads the product where the
    /// GEMM wrote it: in the kernel's result buffer).
    public mutating func alias(_ value: String, to other: String, _ type: TensorType) {
        bufferIndex[value] = buffer(other, type)
    }

    /// Memory private to this kernel (packed convolution columns, transposed gradients).
    public mutating func scratch(_ type: ScalarType, count: Int) -> Int {
        buffers.append(KernelBuffer(name: "\(name).scratch\(buffers.count)", type: type, count: Swift.max(count, 1), isScratch: true))
        return buffers.count - 1
    }

    /// Records an internal lowering error (the first one wins) and returns `placeholder`, which
    /// never reaches generated code: `Lowering.lower` throws once the node is lowered.
    mutating func internalError<T>(_ message: String, placeholder: T) -> T {
        if loweringError == nil { loweringError = message }
        return placeholder
    }

    /// `types[value]`, or an internal error naming the value.
    mutating func type(of value: String, in types: [String: TensorType]) -> TensorType {
        if let type = types[value] { return type }
        return internalError("'\(value)' has no type", placeholder: TensorType(.f32, .scalar))
    }

    /// The type of a node's result, or an internal error naming the node.
    mutating func type(of node: Node) -> TensorType {
        if let type = node.type { return type }
        return internalError("'\(node.name)' (\(node.op.name)) has no type", placeholder: TensorType(.f32, .scalar))
    }

    /// `values[value]`: a value computed earlier in the kernel, or an internal error naming it.
    mutating func defined<V>(_ value: String, in values: [String: V], placeholder: V, _ use: String) -> V {
        if let v = values[value] { return v }
        return internalError("'\(value)' is not defined where \(use) reads it", placeholder: placeholder)
    }

    /// The scalar meaning of elementwise `node`, or an internal error naming it.
    mutating func scalarValue(of node: Node, _ x: [Expr], types: [ScalarType], at element: ScalarSemantics.Element) -> Expr {
        if let value = ScalarSemantics.value(of: node, x, types: types, at: element) { return value }
        return internalError("'\(node.name)' (\(node.op.name)) has no elementwise meaning", placeholder: .f32(0))
    }

    /// A new variable number (loops, bound values and locals share one numbering).
    public mutating func fresh() -> Int {
        counter += 1
        return counter
    }

    public mutating func failure(_ message: String) -> Int {
        failures.append(Failure(message))
        return failures.count - 1
    }

    public func kernel(_ body: [Stmt], work: Int, flops: Int = 0, suffix: String = "") -> LoopKernel {
        LoopKernel(name: name + suffix, buffers: buffers, body: body, failures: failures, work: work, flops: flops)
    }

    /// `for v in 0..<extent { body(v) }`, a serial loop of the given axis (the schedule
    /// decides how it runs); an ordered extent of 1 binds the index to 0 without a loop.
    public mutating func loop(_ extent: Int, _ axis: LoopAxis, _ body: (inout KernelBuilder, Expr) -> [Stmt]) -> [Stmt] {
        if extent <= 0 { return [] }
        if extent == 1 && axis == .ordered { return body(&self, .i64(0)) }
        let v = fresh()
        return [.loop(Loop(variable: v, extent: extent, axis: axis, body: body(&self, .loopVar(v))))]
    }

    /// Every element of `shape` in row-major order: an outer loop over rows, an inner loop
    /// along the last axis longer than 1 (trailing axes of extent 1 get no loop: a strided
    /// view's slice `[…, 56, 1]` runs along its 56, not 56 × 1), both data-parallel.
    /// `body(index, flat)`.
    public mutating func forEachElement(of shape: Shape,
                                        _ body: (inout KernelBuilder, [Expr], Expr) -> [Stmt]) -> [Stmt] {
        let dims = shape.dims
        guard !dims.isEmpty else { return body(&self, [], .i64(0)) }
        var last = dims.count - 1
        while last > 0 && dims[last] == 1 { last -= 1 }
        let trailing = [Expr](repeating: .i64(0), count: dims.count - 1 - last)
        let rows = dims[..<last].reduce(1, *), extent = dims[last]
        return loop(rows, rows > 1 ? .dataParallel : .ordered) { b, row in
            var index: [Expr] = []
            var inner = 1
            for axis in stride(from: last - 1, through: 0, by: -1) {
                // The outermost axis needs no remainder: the row index stays below the row count.
                index.insert(axis == 0 ? row.div(inner) : row.div(inner).rem(dims[axis]), at: 0)
                inner *= dims[axis]
            }
            return b.loop(extent, .dataParallel) { b, j in
                body(&b, index + [j] + trailing, row.mul(extent).plus(j))
            }
        }
    }
}

extension Expr {
    /// Constant-folding index arithmetic (i64).
    public func plus(_ other: Expr) -> Expr {
        switch (self, other) {
        case (.i64(0), _): return other
        case (_, .i64(0)): return self
        case (.i64(let a), .i64(let b)): return .i64(a + b)
        default: return .binary(.add, self, other)
        }
    }

    public func plus(_ n: Int) -> Expr { plus(.i64(n)) }

    public func minus(_ other: Expr) -> Expr {
        if case .i64(0) = other { return self }
        if case .i64(let a) = self, case .i64(let b) = other { return .i64(a - b) }
        return .binary(.sub, self, other)
    }

    public func mul(_ n: Int) -> Expr {
        if n == 0 { return .i64(0) }
        if n == 1 { return self }
        if case .i64(let a) = self { return .i64(a * n) }
        return .binary(.mul, self, .i64(n))
    }

    public func div(_ n: Int) -> Expr {
        if n == 1 { return self }
        if case .i64(let a) = self { return .i64(a / n) }
        return .binary(.div, self, .i64(n))
    }

    public func rem(_ n: Int) -> Expr {
        if n == 1 { return .i64(0) }
        if case .i64(let a) = self { return .i64(a % n) }
        return .binary(.rem, self, .i64(n))
    }

    /// Σ index[k]·strides[k].
    public static func linear(_ index: [Expr], _ strides: [Int]) -> Expr {
        zip(index, strides).reduce(Expr.i64(0)) { $0.plus($1.0.mul($1.1)) }
    }

    public func compare(_ c: Comparison, _ other: Expr) -> Expr { .compare(c, self, other) }
    public func and(_ other: Expr) -> Expr {
        if case .bool(true) = self { return other }
        if case .bool(true) = other { return self }
        return .binary(.and, self, other)
    }

    public func or(_ other: Expr) -> Expr {
        if case .bool(false) = self { return other }
        if case .bool(false) = other { return self }
        return .binary(.or, self, other)
    }
}

extension Shape {
    /// Per output axis, the stride of this (broadcast) operand shape, 0 where it is broadcast.
    public func broadcastStrides(to output: Shape) -> [Int] {
        let own = strides
        return (0..<output.rank).map { axis in
            let a = axis - (output.rank - rank)
            return a < 0 || self[a] == 1 ? 0 : own[a]
        }
    }
}
