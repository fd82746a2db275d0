import KilnIR

/// `ReduceMean/Sum/Max/Min/Prod/LogSum`-family ops (axes as an attribute, or an input from opset 13
/// for ReduceSum and 18 for the others), `ArgMax`, and the global poolings.
enum ReductionConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        for name in ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceProd"] {
            t[name] = { ctx in try ctx.define(0, try reduce(ctx, name)) }
        }
        for name in ["ArgMax", "ArgMin"] {
          t[name] = { ctx in
            var x = try ctx.operand(0)
            let dims = try ctx.shape(0)
            // The first minimum is the first maximum of −x (ties map to ties exactly).
            if name == "ArgMin" { x = try ctx.emit(.neg, [x]) }
            let axis = try ctx.axis(try ctx.attributes.int("axis", 0), rank: dims.count)
            let last = try ctx.attributes.int("select_last_index", 0) != 0
            // The last maximum is the first one of the axis reversed, counted from the end.
            if last {
                var plan = try SlicePlan.all(dims)
                plan.indices[axis] = Array((0..<dims[axis]).reversed())
                x = try LayoutConverters.take(ctx, x, plan)
            }
            var y = try ctx.emit(.argmax, [x], [("axis", .int(axis))])
            if last { y = try ctx.emit(.sub, [try ctx.constantNode(Double(dims[axis] - 1), dtype: .i32), y]) }
            if try ctx.attributes.int("keepdims", 1) != 0 {
                var kept = dims
                kept[axis] = 1
                y = try ctx.emit(.reshape, [y], [("shape", .ints(kept))])
            }
            try ctx.define(0, y)
          }
        }
        t["Hardmax"] = { ctx in
            // One-hot of the first maximum along `axis` (last axis moved there and back).
            let x = try ctx.operand(0), dims = try ctx.shape(0)
            let axis = try ctx.axis(try ctx.attributes.int("axis", -1), rank: dims.count)
            guard ctx.opset >= 13 else { throw ConversionError("Hardmax before opset 13 (flattening semantics) is not supported") }
            var perm = Array(0..<dims.count)
            perm.remove(at: axis); perm.append(axis)
            let last = axis == dims.count - 1 ? x : try ctx.emit(.transpose, [x], [("perm", .ints(perm))])
            var y = try ctx.emit(.one_hot, [try ctx.emit(.argmax, [last], [("axis", .int(dims.count - 1))])], [("depth", .int(dims[axis]))])
            if axis != dims.count - 1 {
                var inverse = Array(repeating: 0, count: perm.count)
                for (i, p) in perm.enumerated() { inverse[p] = i }
                y = try ctx.emit(.transpose, [y], [("perm", .ints(inverse))])
            }
            try ctx.define(0, y)
        }
        for (name, op) in [("GlobalAveragePool", OpKind.reduce_mean), ("GlobalMaxPool", .reduce_max)] {
            t[name] = { ctx in
                let rank = try ctx.rank(0)
                guard rank >= 3 else { throw ConversionError("input must have rank 3 or more, got \(try ctx.type(0))") }
                try ctx.define(0, try ctx.emit(op, [try ctx.operand(0)], [("axes", .ints(Array(2..<rank))), ("keep_dims", .bool(true))]))
            }
        }
    }

    /// The product over `axes` (Kiln has no product reduction): the reduced axes moved last and
    /// flattened, then halved pairwise — the front half times the back half, a 1 appended to an
    /// odd length — until one value is left.
    private static func product(_ ctx: ImportContext, _ x: String, axes: [Int], keep: Bool) throws -> String {
        let dims = try ctx.dims(x), dtype = try ctx.kilnType(x).dtype
        let kept = (0..<dims.count).filter { !axes.contains($0) }
        let rows = kept.reduce(1) { $0 * dims[$1] }
        var n = axes.reduce(1) { $0 * dims[$1] }
        var y = try ctx.emit(.transpose, [x], [("perm", .ints(kept + axes))])
        y = try ctx.emit(.reshape, [y], [("shape", .ints([rows, n]))])
        while n > 1 {
            if n % 2 == 1 {
                y = try ctx.emit(.concat, [y, try ctx.constantNode(1, shape: [rows, 1], dtype: dtype)], [("axis", .int(1))])
                n += 1
            }
            let front = try ctx.emit(.slice, [y], [("begin", .ints([0, 0])), ("end", .ints([rows, n / 2]))])
            let back = try ctx.emit(.slice, [y], [("begin", .ints([0, n / 2])), ("end", .ints([rows, n]))])
            y = try ctx.emit(.mul, [front, back])
            n /= 2
        }
        let shape = keep ? dims.enumerated().map { axes.contains($0.offset) ? 1 : $0.element } : kept.map { dims[$0] }
        return try ctx.emit(.reshape, [y], [("shape", .ints(shape))])
    }

    private static func reduce(_ ctx: ImportContext, _ name: String) throws -> String {
        let x = try ctx.operand(0), rank = try ctx.rank(0)
        let keep = try ctx.attributes.int("keepdims", 1) != 0
        let given = try LayoutRules.axes(ctx, input: 1) ?? []
        let noop = try ctx.attributes.int("noop_with_empty_axes", 0) != 0
        if given.isEmpty && (noop || rank == 0) {
            return try ctx.emit(.reshape, [x], [("shape", .ints(try ctx.dims(x)))])
        }
        let axes = given.isEmpty ? Array(0..<rank) : try given.map { try ctx.axis($0, rank: rank) }.sorted()
        let attrs: [(String, AttrValue)] = [("axes", .ints(axes)), ("keep_dims", .bool(keep))]
        switch name {
        case "ReduceMean": return try ctx.emit(.reduce_mean, [x], attrs)
        case "ReduceSum": return try ctx.emit(.reduce_sum, [x], attrs)
        case "ReduceMax": return try ctx.emit(.reduce_max, [x], attrs)
        case "ReduceMin": return try ctx.emit(.neg, [try ctx.emit(.reduce_max, [try ctx.emit(.neg, [x])], attrs)])
        case "ReduceSumSquare": return try ctx.emit(.reduce_sum, [try ctx.emit(.square, [x])], attrs)
        case "ReduceL1": return try ctx.emit(.reduce_sum, [try ctx.emit(.abs, [x])], attrs)
        case "ReduceL2": return try ctx.emit(.sqrt, [try ctx.emit(.reduce_sum, [try ctx.emit(.square, [x])], attrs)])
        case "ReduceProd": return try product(ctx, x, axes: axes, keep: keep)
        case "ReduceLogSum": return try ctx.emit(.log, [try ctx.emit(.reduce_sum, [x], attrs)])
        default:  // ReduceLogSumExp, stably: m + log Σ e^(x − m)
            let m = try ctx.emit(.reduce_max, [x], [("axes", .ints(axes)), ("keep_dims", .bool(true))])
            let s = try ctx.emit(.reduce_sum, [try ctx.emit(.exp, [try ctx.emit(.sub, [x, m])])], attrs)
            let mk = keep ? m : try ctx.emit(.reshape, [m], [("shape", .ints(try ctx.dims(s)))])
            return try ctx.emit(.add, [try ctx.emit(.log, [s]), mk])
        }
    }
}
