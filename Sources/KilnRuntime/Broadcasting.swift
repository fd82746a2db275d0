import KilnIR

/// Row-wise iteration over a broadcast: the output is walked in row-major order one
/// innermost row at a time; each operand contributes a base offset and an inner stride
/// (0 when it is broadcast along the last axis), so kernels run a tight inner loop.
struct BroadcastPlan {
    let outShape: [Int]
    /// Per operand, the stride of each output axis in that operand (0 where broadcast).
    let strides: [[Int]]
    let rowLength: Int
    let rowCount: Int

    init(output: Shape, operands: [Shape]) {
        let rank = output.rank
        outShape = output.dims
        strides = operands.map { shape in
            var result = [Int](repeating: 0, count: rank)
            let own = shape.strides
            for axis in 0..<shape.rank {
                let outAxis = axis + rank - shape.rank
                result[outAxis] = shape[axis] == 1 ? 0 : own[axis]
            }
            return result
        }
        rowLength = rank == 0 ? 1 : output.dims[rank - 1]
        rowCount = rowLength == 0 ? 0 : output.elementCount / Swift.max(rowLength, 1)
    }

    /// Calls `body(outOffset, operandOffsets, innerStrides)` once per output row.
    @inline(__always)
    func forEachRow(_ body: (Int, UnsafeMutableBufferPointer<Int>, UnsafeBufferPointer<Int>) -> Void) {
        let rank = outShape.count
        let n = strides.count
        let inner = UnsafeMutableBufferPointer<Int>.allocate(capacity: Swift.max(n, 1))
        let offsets = UnsafeMutableBufferPointer<Int>.allocate(capacity: Swift.max(n, 1))
        var counter = [Int](repeating: 0, count: Swift.max(rank - 1, 0))
        defer { inner.deallocate(); offsets.deallocate() }
        for k in 0..<n { inner[k] = rank == 0 ? 0 : strides[k][rank - 1] }
        for row in 0..<rowCount {
            for k in 0..<n {
                var offset = 0
                for axis in 0..<counter.count { offset += counter[axis] * strides[k][axis] }
                offsets[k] = offset
            }
            body(row * rowLength, offsets, UnsafeBufferPointer(inner))
            var axis = counter.count - 1
            while axis >= 0 {
                counter[axis] += 1
                if counter[axis] < outShape[axis] { break }
                counter[axis] = 0
                axis -= 1
            }
        }
    }
}

/// Copies `x` broadcast to `out`'s shape (any element type: bytes are moved as 32-bit words).
func broadcastCopy(_ x: Tensor, into out: Tensor) {
    let px = x.intPointer, po = out.intPointer
    let plan = BroadcastPlan(output: out.shape, operands: [x.shape])
    let length = plan.rowLength
    plan.forEachRow { base, offsets, inner in
        for j in 0..<length { po[base + j] = px[offsets[0] + j * inner[0]] }
    }
}
