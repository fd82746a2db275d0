import KilnIR

/// Reshaping, transposing, joining and indexing ops. Index lists known at import time become
/// `slice`s when contiguous, else a `gather` over a state index vector.
enum LayoutConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        for name in ["Reshape", "Flatten", "Squeeze", "Unsqueeze"] {
            t[name] = { ctx in
                let dims = try LayoutRules.outputShape(ctx, name, inputShape: try ctx.shape(0))
                try ctx.define(0, try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints(dims))]))
            }
        }
        t["Transpose"] = { ctx in
            let rank = try ctx.rank(0)
            let perm = try ctx.attributes.ints("perm") ?? Array((0..<rank).reversed())
            try ctx.define(0, try ctx.emit(.transpose, [try ctx.operand(0)], [("perm", .ints(perm))]))
        }
        t["Concat"] = { ctx in
            // An empty part (a zero-size Split output, known at import) adds nothing.
            let parts = (0..<ctx.inputCount).filter { ctx.hasInput($0) && ctx.constant($0).map { $0.count > 0 } ?? true }
            guard !parts.isEmpty else { throw ConversionError("every input is empty: an empty output, which Kiln cannot represent") }
            let operands = try parts.map { try ctx.operand($0) }
            let axis = try ctx.axis(try ctx.attributes.int("axis", 0), rank: try ctx.rank(0))
            try ctx.define(0, try ctx.emit(.concat, operands, [("axis", .int(axis))]))
        }
        t["Slice"] = { ctx in
            let plan = try SliceRules.plan(ctx, shape: try ctx.shape(0))
            try ctx.define(0, try take(ctx, try ctx.operand(0), plan))
        }
        t["Split"] = { ctx in
            let dims = try ctx.shape(0), x = try ctx.operand(0)
            let axis = try ctx.axis(try ctx.attributes.int("axis", 0), rank: dims.count)
            var sizes: [Int]
            if let given = try ctx.attributes.ints("split") { sizes = given }
            else if ctx.hasInput(1) { sizes = try ctx.requiredConstant(1, "split").integers("split") }
            else {
                let parts = try ctx.attributes.int("num_outputs", ctx.node.output.count)
                // Checked before the sizes list is built: num_outputs = 2^40 would allocate it.
                guard parts == ctx.node.output.count else {
                    throw ConversionError("num_outputs \(parts) differs from the node's \(ctx.node.output.count) outputs")
                }
                guard parts > 0 else { throw ConversionError("num_outputs must be positive") }
                let chunk = (dims[axis] + parts - 1) / parts
                sizes = (0..<parts).map { min(chunk, dims[axis] - $0 * chunk) }
            }
            // Each size bounded before they are summed: sizes of 2^62 from the file overflowed the sum.
            guard sizes.count == ctx.node.output.count, sizes.allSatisfy({ $0 >= 0 && $0 <= dims[axis] }),
                  sizes.reduce(0, { $0 + $1 }) == dims[axis] else {
                throw ConversionError("split sizes \(sizes) do not divide axis \(axis) of \(dims) into \(ctx.node.output.count) parts")
            }
            var begin = 0
            for (i, size) in sizes.enumerated() {
                if size == 0 {
                    // An empty part holds no data: a known empty value, an error only where it
                    // would become a Kiln value; a Concat skips it.
                    var empty = dims
                    empty[axis] = 0
                    ctx.define(i, constant: ConstantTensor(shape: empty, values: [], isInteger: try ctx.kilnType(x).dtype == .i32))
                    continue
                }
                var b = Array(repeating: 0, count: dims.count), e = dims
                b[axis] = begin; e[axis] = begin + size
                begin += size
                try ctx.define(i, try ctx.emit(.slice, [x], [("begin", .ints(b)), ("end", .ints(e))]))
            }
        }
        t["Gather"] = { ctx in
            let dims = try ctx.shape(0), x = try ctx.operand(0)
            let axis = try ctx.axis(try ctx.attributes.int("axis", 0), rank: dims.count)
            if let indices = ctx.constant(1) {
                let n = dims[axis]
                let list = try indices.integers("indices").map { i -> Int in
                    let j = i < 0 ? i + n : i
                    guard j >= 0, j < n else { throw ConversionError("index \(i) is out of range for axis \(axis) of size \(n)") }
                    return j
                }
                var plan = try SlicePlan.all(dims)
                plan.indices[axis] = list
                let taken = try take(ctx, x, plan)
                let shape = Array(dims[..<axis]) + indices.shape + Array(dims[(axis + 1)...])
                try ctx.define(0, try ctx.emit(.reshape, [taken], [("shape", .ints(shape))]))
                return
            }
            // Run-time indices: Kiln's gather takes rows (axis 0); other axes go to the front and back.
            var indices = try ctx.operand(1)
            if try ctx.kilnType(indices).dtype != .i32 { throw ConversionError("indices must be integers") }
            let indexShape = try ctx.dims(indices)
            // ONNX counts negative indices from the end; Kiln's gather takes them in [0, n).
            let n = try ctx.constantNode(Double(dims[axis]), dtype: .i32)
            let negative = try ctx.emit(.less, [indices, try ctx.constantNode(0, dtype: .i32)])
            indices = try ctx.emit(.add, [indices, try ctx.emit(.mul, [negative, n])])
            if indexShape.isEmpty { indices = try ctx.emit(.reshape, [indices], [("shape", .ints([1]))]) }
            let front = axis == 0 ? x : try ctx.emit(.transpose, [x], [("perm", .ints([axis] + (0..<dims.count).filter { $0 != axis }))])
            var y = try ctx.emit(.gather, [front, indices])
            let q = max(indexShape.count, 1)
            if axis != 0 {
                // y: [indices…, the other axes in order]; move the index axes to position `axis`.
                let rest = dims.count - 1
                let perm = Array(q..<(q + axis)) + Array(0..<q) + Array((q + axis)..<(q + rest))
                y = try ctx.emit(.transpose, [y], [("perm", .ints(perm))])
            }
            let shape = Array(dims[..<axis]) + indexShape + Array(dims[(axis + 1)...])
            if try ctx.dims(y) != shape { y = try ctx.emit(.reshape, [y], [("shape", .ints(shape))]) }
            try ctx.define(0, y)
        }
        t["GatherElements"] = { ctx in
            // out[…, i, …] = data[…, indices[…, i, …], …] along `axis`: with the axis moved last,
            // a one-hot of each index selects its element from the data row, summed away.
            let dims = try ctx.shape(0), indexDims = try ctx.shape(1), rank = dims.count
            let axis = try ctx.axis(try ctx.attributes.int("axis", 0), rank: rank)
            guard indexDims.count == rank else { throw ConversionError("indices must have the rank of data") }
            // Indices known now are checked now: out of range, the one-hot below selects nothing
            // and the element silently reads 0 (onnxruntime refuses the model).
            if let known = ctx.constant(1) {
                for i in try known.integers("indices") where i < -dims[axis] || i >= dims[axis] {
                    throw ConversionError("index \(i) is out of range for axis \(axis) of size \(dims[axis])")
                }
            }
            var data = try ctx.operand(0), indices = try ctx.operand(1)
            if try ctx.kilnType(indices).dtype != .i32 { throw ConversionError("indices must be integers") }
            let n = try ctx.constantNode(Double(dims[axis]), dtype: .i32)
            indices = try ctx.emit(.add, [indices, try ctx.emit(.mul, [try ctx.emit(.less, [indices, try ctx.constantNode(0, dtype: .i32)]), n])])
            var sliceEnd = indexDims
            sliceEnd[axis] = dims[axis]
            if sliceEnd != dims { data = try ctx.emit(.slice, [data], [("begin", .ints(Array(repeating: 0, count: rank))), ("end", .ints(sliceEnd))]) }
            var perm = Array(0..<rank)
            perm.remove(at: axis); perm.append(axis)
            let moved = axis == rank - 1
            let dataLast = moved ? data : try ctx.emit(.transpose, [data], [("perm", .ints(perm))])
            let indexLast = moved ? indices : try ctx.emit(.transpose, [indices], [("perm", .ints(perm))])
            let rows = try ctx.dims(dataLast)
            let hot = try ctx.emit(.one_hot, [indexLast], [("depth", .int(dims[axis]))])
            let spread = try ctx.emit(.reshape, [dataLast], [("shape", .ints(Array(rows.dropLast()) + [1, dims[axis]]))])
            let zero = try ctx.constantNode(0, dtype: try ctx.kilnType(data).dtype)
            let picked = try ctx.emit(.select, [hot, spread, zero])
            var y = try ctx.emit(.reduce_sum, [picked], [("axes", .ints([rank]))])
            if !moved {
                var inverse = Array(repeating: 0, count: rank)
                for (i, p) in perm.enumerated() { inverse[p] = i }
                y = try ctx.emit(.transpose, [y], [("perm", .ints(inverse))])
            }
            try ctx.define(0, y)
        }
        t["Expand"] = { ctx in
            let dims = try ctx.shape(0)
            let target = try broadcastShape(dims, try ConstantFolder.checkedShape(try ctx.requiredConstant(1, "shape").integers("shape"), "Expand"))
            guard checkedElementCount(target) != nil else { throw ConversionError("Expand to \(target) is larger than Kiln's 2^40 elements") }
            let x = try ctx.operand(0)
            try ctx.define(0, target == dims ? try ctx.emit(.reshape, [x], [("shape", .ints(dims))]) : try ctx.emit(.broadcast_to, [x], [("shape", .ints(target))]))
        }
        t["Trilu"] = { ctx in
            // Shapes are static, so the kept triangle is a constant 0/1 mask over the last two axes.
            let dims = try ctx.shape(0), x = try ctx.operand(0)
            guard dims.count >= 2 else { throw ConversionError("input must have rank 2 or more") }
            let k = ctx.hasInput(1) ? try ctx.requiredConstant(1, "k").clampedIntegers("k")[0] : 0
            let upper = try ctx.attributes.int("upper", 1) != 0
            let (rows, cols) = (dims[dims.count - 2], dims[dims.count - 1])
            // The mask is built here, element by element: bounded like a folded constant.
            try ConstantFolder.ensure(ctx, checkedElementCount([rows, cols]), "Trilu's mask of \(rows)x\(cols)")
            ctx.foldedElements += rows * cols
            var mask: [Double] = []
            for i in 0..<rows { for j in 0..<cols { mask.append((upper ? j - i >= k : j - i <= k) ? 1 : 0) } }
            let dtype = try ctx.kilnType(x).dtype
            let m = try ctx.stateTensor("trilu_mask", ConstantTensor(shape: [rows, cols], values: mask, isInteger: dtype == .i32))
            try ctx.define(0, try ctx.emit(.select, [m, x, try ctx.constantNode(0, dtype: dtype)]))
        }
        t["Tile"] = { ctx in
            let dims = try ctx.shape(0), repeats = try ctx.requiredConstant(1, "repeats").integers("repeats")
            guard repeats.count == dims.count, repeats.allSatisfy({ $0 > 0 }) else { throw ConversionError("repeats \(repeats) must be positive, one per axis of \(dims)") }
            // [d0, d1] → [1, d0, 1, d1] → broadcast [r0, d0, r1, d1] → [r0·d0, r1·d1].
            let spread = dims.flatMap { [1, $0] }, target = zip(repeats, dims).flatMap { [$0, $1] }
            guard checkedElementCount(target) != nil else { throw ConversionError("repeats \(repeats) make more than Kiln's 2^40 elements from \(dims)") }
            let x = try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints(spread))])
            let b = try ctx.emit(.broadcast_to, [x], [("shape", .ints(target))])
            try ctx.define(0, try ctx.emit(.reshape, [b], [("shape", .ints(zip(repeats, dims).map { $0 * $1 }))]))
        }
    }

    /// The elements of `x` at the index lists of `plan`: one `slice` when every list is a
    /// contiguous run, else per axis a slice or a `gather` over a state index vector.
    static func take(_ ctx: ImportContext, _ x: String, _ plan: SlicePlan) throws -> String {
        let dims = try ctx.dims(x)
        // An empty list (Gather with no indices) has no first element: found by make fuzz.
        guard plan.indices.allSatisfy({ !$0.isEmpty }) else { throw ConversionError("the selection is empty, which Kiln cannot represent") }
        if plan.isContiguous {
            let begin = plan.indices.map { $0[0] }, end = plan.indices.map { $0[$0.count - 1] + 1 }
            if begin == Array(repeating: 0, count: dims.count) && end == dims { return try ctx.emit(.reshape, [x], [("shape", .ints(dims))]) }
            return try ctx.emit(.slice, [x], [("begin", .ints(begin)), ("end", .ints(end))])
        }
        var y = x
        for (axis, list) in plan.indices.enumerated() where list != Array(0..<dims[axis]) {
            var single = try SlicePlan.all(try ctx.dims(y))
            single.indices[axis] = list
            if single.isContiguous { y = try take(ctx, y, single); continue }
            let current = try ctx.dims(y)
            let perm = [axis] + (0..<current.count).filter { $0 != axis }
            let front = axis == 0 ? y : try ctx.emit(.transpose, [y], [("perm", .ints(perm))])
            let index = try ctx.stateTensor("indices", ConstantTensor(integers: list))
            y = try ctx.emit(.gather, [front, index])
            if axis != 0 {
                var inverse = Array(repeating: 0, count: perm.count)
                for (i, p) in perm.enumerated() { inverse[p] = i }
                y = try ctx.emit(.transpose, [y], [("perm", .ints(inverse))])
            }
        }
        return y
    }
}
