import KilnIR

/// Ops that select or reorder elements by values known at import time: `Compress` (its
/// condition), `CenterCropPad` (its target shape) and `ReverseSequence` (its lengths) — with
/// those values known they are gathers, slices and pads; given at run time they are refused
/// (the output's shape would depend on them, or the importer needs them to build the gathers).
enum SelectionConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["Compress"] = { ctx in
            var x = try ctx.operand(0)
            var dims = try ctx.shape(0)
            let condition = try ctx.requiredConstant(1, "condition").values
            let axis: Int
            if ctx.attributes.has("axis") {
                axis = try ctx.axis(try ctx.attributes.int("axis", 0), rank: dims.count)
            } else {
                guard let count = checkedElementCount(dims) else { throw ConversionError("input \(dims) is too large") }
                x = try ctx.emit(.reshape, [x], [("shape", .ints([count]))])
                dims = [count]
                axis = 0
            }
            guard condition.count <= dims[axis] else { throw ConversionError("condition has \(condition.count) entries for an axis of \(dims[axis])") }
            var plan = try SlicePlan.all(dims)
            plan.indices[axis] = condition.enumerated().compactMap { $0.element != 0 ? $0.offset : nil }
            guard !plan.indices[axis].isEmpty else { throw ConversionError("the condition selects nothing: an empty output, which Kiln cannot represent") }
            try ctx.define(0, try LayoutConverters.take(ctx, x, plan))
        }
        t["CenterCropPad"] = { ctx in
            let dims = try ctx.shape(0), rank = dims.count
            let shape = try ctx.requiredConstant(1, "shape").integers("shape")
            let axes = try (try ctx.attributes.ints("axes") ?? Array(0..<rank)).map { try ctx.axis($0, rank: rank) }
            guard shape.count == axes.count, Set(axes).count == axes.count else { throw ConversionError("shape \(shape) must give one size per axis \(axes)") }
            var plan = try SlicePlan.all(dims)
            var before = Array(repeating: 0, count: rank), after = before
            for (a, size) in zip(axes, shape) {
                guard size > 0, size <= 1 << 30 else { throw ConversionError("shape \(shape) must be positive sizes below 2^30") }
                let n = dims[a]
                // The centre, the odd element going to the end (ONNX's reference).
                if size < n { let d = (n - size) / 2; plan.indices[a] = Array(d..<(d + size)) }
                if size > n { before[a] = (size - n) / 2; after[a] = size - n - before[a] }
            }
            var y = try LayoutConverters.take(ctx, try ctx.operand(0), plan)
            if before.contains(where: { $0 > 0 }) || after.contains(where: { $0 > 0 }) {
                y = try ctx.emit(.pad, [y], [("before", .ints(before)), ("after", .ints(after))])
            }
            try ctx.define(0, y)
        }
        t["ReverseSequence"] = { ctx in
            let dims = try ctx.shape(0), rank = dims.count
            guard rank >= 2 else { throw ConversionError("input must have rank 2 or more, got \(try ctx.type(0))") }
            let batchAxis = try ctx.attributes.int("batch_axis", 1), timeAxis = try ctx.attributes.int("time_axis", 0)
            guard Set([batchAxis, timeAxis]) == [0, 1] else { throw ConversionError("batch_axis \(batchAxis) and time_axis \(timeAxis) must be 0 and 1") }
            let lengths = try ctx.requiredConstant(1, "sequence_lens").integers("sequence_lens")
            let (batch, time) = (dims[batchAxis], dims[timeAxis])
            guard lengths.count == batch, lengths.allSatisfy({ $0 >= 0 && $0 <= time }) else {
                throw ConversionError("sequence_lens \(lengths) must give one length in [0, \(time)] per batch entry (\(batch))")
            }
            guard dims[0] * dims[1] <= ConstantFolder.budget else { throw ConversionError("\(dims[0]) × \(dims[1]) rows are beyond the \(ConstantFolder.budget) indices Kiln builds at import") }
            // Rows of the leading two axes flattened: output row (t, b) reads row (len − 1 − t, b).
            var rows: [Double] = []
            for i in 0..<dims[0] {
                for j in 0..<dims[1] {
                    let (t, b) = timeAxis == 0 ? (i, j) : (j, i)
                    let source = t < lengths[b] ? lengths[b] - 1 - t : t
                    rows.append(Double(timeAxis == 0 ? source * dims[1] + j : i * dims[1] + source))
                }
            }
            let rest = Array(dims.dropFirst(2))
            let flat = try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints([dims[0] * dims[1]] + rest))])
            let index = try ctx.stateTensor("reverse_rows", ConstantTensor(shape: [rows.count], values: rows, isInteger: true))
            try ctx.define(0, try ctx.emit(.reshape, [try ctx.emit(.gather, [flat, index])], [("shape", .ints(dims))]))
        }
    }
}
