import KilnIR

/// ONNX `Pad` (pads as an attribute before opset 11, an input after; `axes` from opset 18):
/// negative pads crop first (a slice); `constant` is Kiln's zero `pad` with the fill value
/// selected into the border (a run-time `constant_value` too, and ±∞ without 0·∞); `edge`,
/// `reflect` and `wrap` take every output position's source index along each padded axis
/// (a gather of rows, computed at import) — all exact.
enum PadConverter {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["Pad"] = convert
    }

    static func convert(_ ctx: ImportContext) throws {
        let dims = try ctx.shape(0), rank = dims.count
        var x = try ctx.operand(0)
        let dtype = try ctx.kilnType(x).dtype
        let mode = ctx.attributes.string("mode", "constant")
        guard ["constant", "edge", "reflect", "wrap"].contains(mode) else {
            throw ConversionError("mode '\(mode)' is not constant, edge, reflect or wrap")
        }
        var pads = try ctx.attributes.ints("pads") ?? (try ctx.requiredConstant(1, "pads").integers("pads"))
        if ctx.hasInput(3) {
            let axes = try ctx.requiredConstant(3, "axes").integers("axes").map { try ctx.axis($0, rank: rank) }
            guard pads.count == 2 * axes.count, Set(axes).count == axes.count else {
                throw ConversionError("pads needs \(2 * axes.count) entries for axes \(axes) (each axis once), has \(pads.count)")
            }
            var full = Array(repeating: 0, count: 2 * rank)
            for (k, a) in axes.enumerated() { full[a] = pads[k]; full[rank + a] = pads[axes.count + k] }
            pads = full
        }
        guard pads.count == 2 * rank else { throw ConversionError("pads needs \(2 * rank) entries, has \(pads.count)") }
        let limit = 1 << 30
        guard pads.allSatisfy({ abs($0) <= limit }) else { throw ConversionError("pads \(pads) are beyond ±2^30") }
        var before = Array(pads[..<rank]), after = Array(pads[rank...])
        // Cropping (negative pads) first.
        if before.contains(where: { $0 < 0 }) || after.contains(where: { $0 < 0 }) {
            var plan = try SlicePlan.all(dims)
            for a in 0..<rank {
                let lo = max(0, -before[a]), hi = dims[a] - max(0, -after[a])
                guard lo < hi else { throw ConversionError("pads \(pads) crop axis \(a) of \(dims) to nothing, which Kiln cannot represent") }
                plan.indices[a] = Array(lo..<hi)
                before[a] = max(0, before[a]); after[a] = max(0, after[a])
            }
            x = try LayoutConverters.take(ctx, x, plan)
        }
        let cropped = try ctx.dims(x)
        guard before.contains(where: { $0 > 0 }) || after.contains(where: { $0 > 0 }) else {
            try ctx.define(0, try ctx.emit(.reshape, [x], [("shape", .ints(cropped))]))
            return
        }
        var outDims = cropped
        for a in 0..<rank { outDims[a] = cropped[a] + before[a] + after[a] }
        guard checkedElementCount(outDims) != nil else { throw ConversionError("padding \(dims) to \(outDims) is beyond Kiln's 2^40 elements") }
        if mode == "constant" {
            let padded = try ctx.emit(.pad, [x], [("before", .ints(before)), ("after", .ints(after))])
            var fill: String? = nil
            if ctx.hasInput(2) {
                if let c = ctx.constant(2) {
                    let v = try c.scalar("constant_value")
                    if v != 0 { fill = try ctx.constantNode(v, dtype: dtype) }
                } else {
                    guard try ctx.type(2).elementCount == 1, try ctx.type(2).dtype == dtype else {
                        throw ConversionError("constant_value must be one value of X's type, got \(try ctx.type(2))")
                    }
                    fill = try ctx.emit(.reshape, [try ctx.operand(2)], [("shape", .ints([]))])
                }
            } else if let v = try ctx.attributes.has("value") ? ctx.attributes.float("value", 0) : nil, v != 0 {
                fill = try ctx.constantNode(v, dtype: dtype)
            }
            guard let fill else { try ctx.define(0, padded); return }
            // 1 inside the original box, 0 in the border: the border takes the fill value.
            let inside = try ctx.emit(.pad, [try ctx.constantNode(1, shape: cropped, dtype: .i32)], [("before", .ints(before)), ("after", .ints(after))])
            try ctx.define(0, try ctx.emit(.select, [inside, padded, fill]))
            return
        }
        var plan = try SlicePlan.all(cropped)
        for a in 0..<rank where before[a] > 0 || after[a] > 0 {
            let n = cropped[a]
            guard outDims[a] <= SlicePlan.maximumIndices else { throw ConversionError("axis \(a) padded to \(outDims[a]) needs too many indices") }
            plan.indices[a] = try (-before[a]..<(n + after[a])).map { i in try source(i, n, mode) }
        }
        try ctx.define(0, try LayoutConverters.take(ctx, x, plan))
    }

    /// The source index of output position i (relative to the input's start) along an axis of n.
    static func source(_ i: Int, _ n: Int, _ mode: String) throws -> Int {
        if i >= 0 && i < n { return i }
        switch mode {
        case "edge": return i < 0 ? 0 : n - 1
        case "wrap": return ((i % n) + n) % n
        default:  // reflect: period 2(n − 1), mirrored without repeating the edge
            guard n > 1 else { throw ConversionError("reflect padding of an axis of size 1 is undefined") }
            let period = 2 * (n - 1)
            let m = ((i % period) + period) % period
            return m < n ? m : period - m
        }
    }
}
