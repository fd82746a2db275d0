import KilnIR

/// Data movement: transpose, concat, slice, pad, gather (and its scatter-add adjoint),
/// one_hot. Element bytes are moved as 32-bit words, so one kernel serves f32 and i32.
enum LayoutKernels {
    static func transpose(_ x: Tensor, perm: [Int], into out: Tensor) {
        let rank = x.rank
        let inStrides = x.shape.strides
        let strides = perm.map { inStrides[$0] }
        let px = x.intPointer, po = out.intPointer
        var counter = [Int](repeating: 0, count: rank)
        var offset = 0
        for i in 0..<out.elementCount {
            po[i] = px[offset]
            var axis = rank - 1
            while axis >= 0 {
                counter[axis] += 1
                offset += strides[axis]
                if counter[axis] < out.shape[axis] { break }
                offset -= strides[axis] * counter[axis]
                counter[axis] = 0
                axis -= 1
            }
        }
    }

    static func copy(_ x: Tensor, into out: Tensor) {
        if x.storage.pointer != out.storage.pointer {
            out.storage.pointer.copyMemory(from: x.storage.pointer, byteCount: x.type.byteCount)
        }
    }

    static func concat(_ xs: [Tensor], axis rawAxis: Int, into out: Tensor) throws {
        let axis = try normalizedAxis(rawAxis, rank: out.rank, out.type)
        let outer = out.shape.dims[..<axis].reduce(1, *)
        let inner = out.shape.dims[(axis + 1)...].reduce(1, *)
        let outRow = out.shape[axis] * inner
        var start = 0
        for x in xs {
            let row = x.shape[axis] * inner
            for a in 0..<outer {
                (out.intPointer + a * outRow + start).update(from: x.intPointer + a * row, count: row)
            }
            start += row
        }
    }

    /// Copies the box [begin, end) of x to out (slice), or x into the box of out (pad).
    private static func box(_ small: Shape, _ large: Shape, offset: [Int], _ body: (Int, Int, Int) -> Void) {
        let rank = small.rank
        guard rank > 0 else { body(0, 0, 1); return }
        let largeStrides = large.strides
        let rowLength = small[rank - 1]
        let rows = rowLength == 0 ? 0 : small.elementCount / rowLength
        var counter = [Int](repeating: 0, count: rank - 1)
        for row in 0..<rows {
            var largeOffset = offset[rank - 1]
            for axis in 0..<(rank - 1) { largeOffset += (counter[axis] + offset[axis]) * largeStrides[axis] }
            body(row * rowLength, largeOffset, rowLength)
            var axis = rank - 2
            while axis >= 0 {
                counter[axis] += 1
                if counter[axis] < small[axis] { break }
                counter[axis] = 0
                axis -= 1
            }
        }
    }

    static func slice(_ x: Tensor, begin: [Int], into out: Tensor) {
        box(out.shape, x.shape, offset: begin) { small, large, n in
            (out.intPointer + small).update(from: x.intPointer + large, count: n)
        }
    }

    static func pad(_ x: Tensor, before: [Int], into out: Tensor) {
        out.intPointer.update(repeating: 0, count: out.elementCount)
        box(x.shape, out.shape, offset: before) { small, large, n in
            (out.intPointer + large).update(from: x.intPointer + small, count: n)
        }
    }

    static func gather(_ table: Tensor, _ indices: Tensor, into out: Tensor) throws {
        let rows = table.shape[0]
        let width = table.elementCount / Swift.max(rows, 1)
        for i in 0..<indices.elementCount {
            let index = Int(indices.intPointer[i])
            guard index >= 0 && index < rows else {
                throw Diagnostic("gather: index \(index) is out of range for a table of \(rows) rows")
            }
            (out.intPointer + i * width).update(from: table.intPointer + index * width, count: width)
        }
    }

    /// Scatter-add: the adjoint of gather.
    static func gatherGrad(_ dy: Tensor, _ indices: Tensor, into out: Tensor) throws {
        let rows = out.shape[0]
        let width = out.elementCount / Swift.max(rows, 1)
        out.floatPointer.update(repeating: 0, count: out.elementCount)
        for i in 0..<indices.elementCount {
            let index = Int(indices.intPointer[i])
            guard index >= 0 && index < rows else {
                throw Diagnostic("gather_grad: index \(index) is out of range for \(rows) rows")
            }
            let dst = out.floatPointer + index * width, src = dy.floatPointer + i * width
            for j in 0..<width { dst[j] += src[j] }
        }
    }

    /// Rows of an identity matrix; an index outside [0, depth) gives a row of zeros.
    static func oneHot(_ indices: Tensor, depth: Int, into out: Tensor) {
        out.floatPointer.update(repeating: 0, count: out.elementCount)
        for i in 0..<indices.elementCount {
            let index = Int(indices.intPointer[i])
            if index >= 0 && index < depth { out.floatPointer[i * depth + index] = 1 }
        }
    }
}
