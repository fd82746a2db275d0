import KilnIR

/// `ScatterND`, `GatherND`, `CumSum` and `CumProd` as compositions of Kiln's row `gather`, `select`, `pad`
/// and `slice`. On known inputs they fold (`EvaluatedFolding` runs these conversions on the
/// interpreter), which is how exporters use them for masks and shape tables (Swin-T's shifted
/// window mask is a `ScatterND` on constants).
enum IndexingConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["ScatterND"] = scatterND
        t["GatherND"] = gatherND
        t["CumSum"] = { ctx in try scan(ctx, product: false) }
        t["CumProd"] = { ctx in try scan(ctx, product: true) }
    }

    /// Row-major strides of `dims`.
    static func strides(_ dims: [Int]) -> [Int] { ConstantMath.strides(dims) }

    /// Flat row positions of the index tuples in `indices` (last axis k) over `dims[..<k]`,
    /// negative entries counted from the end; each tuple checked against its dimension.
    static func rowPositions(_ indices: ConstantTensor, dims: [Int]) throws -> [Int] {
        guard let k = indices.shape.last, k >= 1, k <= dims.count else {
            throw ConversionError("indices of shape \(indices.shape) need a last axis of 1 to \(dims.count) (the data's rank)")
        }
        let list = try indices.integers("indices"), s = strides(Array(dims[..<k]))
        return try stride(from: 0, to: list.count, by: k).map { start in
            var row = 0
            for axis in 0..<k {
                let raw = list[start + axis], n = dims[axis]
                let i = raw < 0 ? raw + n : raw
                guard i >= 0, i < n else { throw ConversionError("index \(raw) is out of range for axis \(axis) of size \(n)") }
                row += i * s[axis]
            }
            return row
        }
    }

    /// Flat row numbers of run-time index tuples: `indices` viewed as [tuples, k] (negative
    /// entries counted from the end of `sizes`), times the row-major strides of `sizes`, plus
    /// `base` (the first row of each tuple's batch; nil: 0).
    static func runtimeRows(_ ctx: ImportContext, _ indices: String, tuples: Int, sizes: [Int], base: [Int]?) throws -> String {
        let k = sizes.count
        guard try ctx.kilnType(indices).dtype == .i32 else { throw ConversionError("indices must be integers") }
        var idx = try ctx.emit(.reshape, [indices], [("shape", .ints([tuples, k]))])
        let n = try ctx.stateTensor("index_sizes", ConstantTensor(shape: [1, k], values: sizes.map(Double.init), isInteger: true))
        let negative = try ctx.emit(.less, [idx, try ctx.constantNode(0, dtype: .i32)])
        idx = try ctx.emit(.add, [idx, try ctx.emit(.mul, [negative, n])])
        let s = try ctx.stateTensor("index_strides", ConstantTensor(shape: [1, k], values: strides(sizes).map(Double.init), isInteger: true))
        let rows = try ctx.emit(.reduce_sum, [try ctx.emit(.mul, [idx, s])], [("axes", .ints([1]))])
        guard let base else { return rows }
        return try ctx.emit(.add, [rows, try ctx.stateTensor("index_base", ConstantTensor(integers: base))])
    }

    /// Run-time indices: `reduction` none or add, as a scatter-add (`gather_grad`) of the
    /// update rows and of a count of writes per row; a row written is replaced by (none) or
    /// increased by (add) what was scattered to it. Duplicate indices with `none` are
    /// undefined in ONNX; here their updates add up.
    static func scatterNDRuntime(_ ctx: ImportContext, reduction: String) throws {
        let dims = try ctx.shape(0), indexDims = try ctx.shape(1), updateDims = try ctx.shape(2)
        guard let k = indexDims.last, k >= 1, k <= dims.count else {
            throw ConversionError("indices of shape \(indexDims) need a last axis of 1 to \(dims.count) (the data's rank)")
        }
        guard reduction == "none" || reduction == "add" else {
            throw ConversionError("reduction '\(reduction)' is not supported with run-time indices: indices (input '\(ctx.node.input[1])') must be known at import time")
        }
        let inner = Array(dims[k...]), outer = dims[..<k].reduce(1, *), tuples = indexDims.dropLast().reduce(1, *)
        guard updateDims == Array(indexDims.dropLast()) + inner else {
            throw ConversionError("updates of shape \(updateDims) do not match indices \(indexDims) and data \(dims)")
        }
        // Kiln's scatter-add (gather_grad) is defined on f32 only.
        guard try ctx.type(0).dtype == .f32, try ctx.type(2).dtype == .f32 else {
            throw ConversionError("integer data is not supported with run-time indices: indices (input '\(ctx.node.input[1])') must be known at import time")
        }
        let data = try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints([outer] + inner))])
        let updates = try ctx.emit(.reshape, [try ctx.operand(2)], [("shape", .ints([tuples] + inner))])
        let rows = try runtimeRows(ctx, try ctx.operand(1), tuples: tuples, sizes: Array(dims[..<k]), base: nil)
        let scattered = try ctx.emit(.gather_grad, [updates, rows], [("rows", .int(outer))])
        let y: String
        if reduction == "add" {
            y = try ctx.emit(.add, [data, scattered])
        } else {
            let ones = try ctx.constantNode(1, shape: [tuples])
            let writes = try ctx.emit(.gather_grad, [ones, rows], [("rows", .int(outer))])
            let written = try ctx.emit(.greater, [writes, try ctx.constantNode(0)])
            let mask = try ctx.emit(.reshape, [written], [("shape", .ints([outer] + Array(repeating: 1, count: inner.count)))])
            y = try ctx.emit(.select, [mask, scattered, data])
        }
        try ctx.define(0, try ctx.emit(.reshape, [y], [("shape", .ints(dims))]))
    }

    /// out = data with the rows the (known) index tuples name replaced by, or combined
    /// (`reduction` add, mul, max, min) with, rows of `updates`. Duplicate indices are applied
    /// in order, one round per repetition.
    static func scatterND(_ ctx: ImportContext) throws {
        let reduction = ctx.attributes.string("reduction", "none")
        guard ["none", "add", "mul", "max", "min"].contains(reduction) else { throw ConversionError("reduction '\(reduction)' is not supported") }
        guard let indices = ctx.constant(1) else { return try scatterNDRuntime(ctx, reduction: reduction) }
        let dims = try ctx.shape(0)
        let rows = try rowPositions(indices, dims: dims)
        let k = indices.shape[indices.shape.count - 1]
        let inner = Array(dims[k...]), outer = dims[..<k].reduce(1, *)
        let updateDims = try ctx.shape(2)
        guard updateDims == Array(indices.shape.dropLast()) + inner else {
            throw ConversionError("updates of shape \(updateDims) do not match indices \(indices.shape) and data \(dims) (expected \(Array(indices.shape.dropLast()) + inner))")
        }
        let dtype = try ctx.kilnType(try ctx.operand(0)).dtype
        guard try ctx.kilnType(try ctx.operand(2)).dtype == dtype else { throw ConversionError("data and updates have different element types") }
        var current = try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints([outer] + inner))])
        let updates = try ctx.emit(.reshape, [try ctx.operand(2)], [("shape", .ints([rows.count] + inner))])
        // Round r applies the r-th occurrence of every target row.
        var pending = Array(rows.enumerated())
        while !pending.isEmpty {
            var taken = Set<Int>(), round: [Int: Int] = [:], later: [(offset: Int, element: Int)] = []
            for (j, row) in pending {
                if taken.insert(row).inserted { round[row] = j } else { later.append((j, row)) }
            }
            pending = later
            var source = Array(repeating: 0, count: outer), mask = Array(repeating: 0.0, count: outer)
            for (row, j) in round { source[row] = j; mask[row] = 1 }
            let picked = try ctx.emit(.gather, [updates, try ctx.stateTensor("scatter_rows", ConstantTensor(integers: source))])
            let combined: String
            switch reduction {
            case "add": combined = try ctx.emit(.add, [current, picked])
            case "mul": combined = try ctx.emit(.mul, [current, picked])
            case "max": combined = try ctx.emit(.max, [current, picked])
            case "min": combined = try ctx.emit(.min, [current, picked])
            default: combined = picked
            }
            let maskShape = [outer] + Array(repeating: 1, count: inner.count)
            let m = try ctx.stateTensor("scatter_mask", ConstantTensor(shape: maskShape, values: mask, isInteger: dtype == .i32))
            current = try ctx.emit(.select, [m, combined, current])
        }
        try ctx.define(0, try ctx.emit(.reshape, [current], [("shape", .ints(dims))]))
    }

    /// out[b…, i…] = data[b…, indices[b…, i…, :], …]: the data viewed as rows over its first
    /// batch_dims + k axes, gathered at flat row numbers. Known indices make a state index
    /// vector; run-time indices are turned into row numbers with Kiln arithmetic (negative
    /// entries counted from the end).
    static func gatherND(_ ctx: ImportContext) throws {
        let dims = try ctx.shape(0), indexDims = try ctx.shape(1)
        let b = try ctx.attributes.int("batch_dims", 0)
        guard let k = indexDims.last, b >= 0, b < indexDims.count, b < dims.count, k >= 1, b + k <= dims.count,
              Array(indexDims[..<b]) == Array(dims[..<b]) else {
            throw ConversionError("indices \(indexDims) with batch_dims \(b) do not fit data \(dims)")
        }
        let batch = dims[..<b].reduce(1, *), perBatch = dims[b..<(b + k)].reduce(1, *)
        let inner = Array(dims[(b + k)...])
        let tupleDims = Array(indexDims[b..<(indexDims.count - 1)]), tuples = tupleDims.reduce(1, *)
        let table = try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints([batch * perBatch] + (inner.isEmpty ? [1] : inner)))])
        let rowIndex: String
        if let known = ctx.constant(1) {
            var rows: [Int] = []
            let local = try rowPositions(ConstantTensor(shape: [batch * tuples, k], values: known.values, isInteger: true), dims: Array(dims[b..<(b + k)]))
            for (n, r) in local.enumerated() { rows.append((n / max(tuples, 1)) * perBatch + r) }
            rowIndex = try ctx.stateTensor("gather_rows", ConstantTensor(integers: rows))
        } else {
            rowIndex = try runtimeRows(ctx, try ctx.operand(1), tuples: batch * tuples, sizes: Array(dims[b..<(b + k)]),
                                       base: (0..<(batch * tuples)).map { ($0 / max(tuples, 1)) * perBatch })
        }
        let y = try ctx.emit(.gather, [table, rowIndex])
        try ctx.define(0, try ctx.emit(.reshape, [y], [("shape", .ints(Array(indexDims[..<b]) + tupleDims + inner))]))
    }

    /// Running sums along a known axis by doubling (Hillis–Steele): ⌈log2 n⌉ shifted adds, any
    /// element type, gradients through pad and slice. `exclusive` shifts by one first,
    /// `reverse` sums from the end.
    /// CumSum / CumProd: a doubling scan, each round combining the running value with itself
    /// shifted by 1, 2, 4, … along the axis (the vacated positions hold 0, or 1 for products).
    static func scan(_ ctx: ImportContext, product: Bool) throws {
        let dims = try ctx.shape(0), x = try ctx.operand(0)
        let dtype = try ctx.kilnType(x).dtype
        let axis = try ctx.axis(try ctx.requiredConstant(1, "axis").integers("axis").first ?? 0, rank: dims.count)
        let exclusive = try ctx.attributes.int("exclusive", 0) != 0, reverse = try ctx.attributes.int("reverse", 0) != 0
        let n = dims[axis]
        func shifted(_ v: String, by s: Int) throws -> String {
            var begin = Array(repeating: 0, count: dims.count), end = dims
            var before = Array(repeating: 0, count: dims.count), after = before
            if reverse { begin[axis] = s; after[axis] = s } else { end[axis] = n - s; before[axis] = s }
            let kept = try ctx.emit(.slice, [v], [("begin", .ints(begin)), ("end", .ints(end))])
            let padded = try ctx.emit(.pad, [kept], [("before", .ints(before)), ("after", .ints(after))])
            guard product else { return padded }
            // 1 where the shift vacated a position: the ones padded with zeros, from 1.
            var keptDims = dims
            keptDims[axis] = n - s
            let inside = try ctx.emit(.pad, [try ctx.constantNode(1, shape: keptDims, dtype: dtype)], [("before", .ints(before)), ("after", .ints(after))])
            return try ctx.emit(.add, [padded, try ctx.emit(.sub, [try ctx.constantNode(1, dtype: dtype), inside])])
        }
        var y = x
        if exclusive {
            guard n > 1 else {
                try ctx.define(0, try ctx.constantNode(product ? 1 : 0, shape: dims, dtype: dtype))
                return
            }
            y = try shifted(x, by: 1)
        }
        var s = 1
        while s < n {
            y = try ctx.emit(product ? .mul : .add, [y, try shifted(y, by: s)])
            s *= 2
        }
        try ctx.define(0, y == x ? try ctx.emit(.reshape, [x], [("shape", .ints(dims))]) : y)
    }
}
