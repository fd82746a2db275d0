/// Result shapes of the reshaping ops, shared by the converters and the constant folder.
enum LayoutRules {
    /// Axes given as an attribute (older opsets) or as input `index` (`Squeeze`/`Unsqueeze` from
    /// 13, the reductions from 13/18); nil when absent.
    static func axes(_ ctx: ImportContext, input index: Int) throws -> [Int]? {
        if let listed = try ctx.attributes.ints("axes") { return listed }
        guard ctx.hasInput(index) else { return nil }
        return try ctx.requiredConstant(index, "axes").integers("axes")
    }

    static func outputShape(_ ctx: ImportContext, _ opType: String, inputShape shape: [Int]) throws -> [Int] {
        switch opType {
        case "Unsqueeze":
            guard let raw = try axes(ctx, input: 1) else { throw ConversionError("axes are missing") }
            let rank = shape.count + raw.count
            let axes = Set(try raw.map { try ctx.axis($0, rank: rank) })
            guard axes.count == raw.count else { throw ConversionError("axes \(raw) repeat an axis") }
            var dims = shape.makeIterator()
            return (0..<rank).map { axes.contains($0) ? 1 : (dims.next() ?? 1) }
        case "Squeeze":
            if let raw = try axes(ctx, input: 1) {
                let axes = Set(try raw.map { try ctx.axis($0, rank: shape.count) })
                for a in axes where shape[a] != 1 { throw ConversionError("cannot squeeze axis \(a) of size \(shape[a]) in \(shape)") }
                return shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
            }
            return shape.filter { $0 != 1 }
        case "Flatten":
            let axis = try ctx.attributes.int("axis", 1)
            let a = axis < 0 ? axis + shape.count : axis
            guard a >= 0, a <= shape.count else { throw ConversionError("axis \(axis) is out of range for rank \(shape.count)") }
            return [shape[..<a].reduce(1, *), shape[a...].reduce(1, *)]
        default:  // Reshape
            let requested: [Int]
            if let attr = try ctx.attributes.ints("shape") { requested = attr } else { requested = try ctx.requiredConstant(1, "shape").integers("shape") }
            let allowZero = try ctx.attributes.int("allowzero", 0) != 0
            var dims = try requested.enumerated().map { i, d -> Int in
                if d == 0 && !allowZero {
                    guard i < shape.count else { throw ConversionError("shape \(requested): 0 at \(i) copies a dimension the input \(shape) does not have") }
                    return shape[i]
                }
                return d
            }
            let total = shape.reduce(1, *)
            // Requested sizes come from the file: multiply them checked ([2^32, 2^32] overflows).
            if let unknown = dims.firstIndex(of: -1) {
                let known = checkedElementCount(dims.enumerated().filter { $0.offset != unknown }.map(\.element))
                guard let known, known > 0, total % known == 0 else { throw ConversionError("cannot reshape \(shape) to \(requested)") }
                dims[unknown] = total / known
            }
            guard dims.allSatisfy({ $0 > 0 }), checkedElementCount(dims) == total else {
                throw ConversionError("cannot reshape \(shape) (\(total) elements) to \(requested)")
            }
            return dims
        }
    }
}

/// The product of `dims`, nil when one is negative or the product passes 2^40 (Kiln's largest
/// tensor) — sizes read from a model are multiplied only through this.
func checkedElementCount(_ dims: [Int]) -> Int? {
    var n = 1
    for d in dims {
        guard d >= 0 else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        guard !overflow, p <= 1 << 40 else { return nil }
        n = p
    }
    return n
}

/// The element indices a `Slice` keeps along every axis (untouched axes keep all).
struct SlicePlan {
    var indices: [[Int]]

    /// The largest total of index-list lengths a plan holds (2^24): the plan lists every kept
    /// index of every axis, so a dimension of 2^30 would need 8 GiB before anything is checked.
    static let maximumIndices = 1 << 24

    /// The plan keeping everything of `shape`.
    static func all(_ shape: [Int]) throws -> SlicePlan {
        var total = 0
        for d in shape {
            total = total.addingReportingOverflow(d).partialValue
            guard d >= 0, total <= maximumIndices else {
                throw ConversionError("indexing a value of shape \(shape) at import time needs more than \(maximumIndices) indices")
            }
        }
        return SlicePlan(indices: shape.map { Array(0..<$0) })
    }

    /// Whether each axis keeps a contiguous ascending run (a plain Kiln `slice`).
    var isContiguous: Bool {
        indices.allSatisfy { idx in zip(idx, idx.dropFirst()).allSatisfy { $1 == $0 + 1 } }
    }
}

enum SliceRules {
    /// ONNX `Slice` semantics: starts/ends clamped per axis, negative values counted from the end,
    /// steps (negative steps walk backwards). Inputs from opset 10, attributes before.
    /// `allowEmpty`: the folder may slice a shape vector to nothing (exporters do, then concatenate).
    static func plan(_ ctx: ImportContext, shape: [Int], allowEmpty: Bool = false) throws -> SlicePlan {
        let a = ctx.attributes
        let starts: [Int], ends: [Int], axesGiven: [Int]?, steps: [Int]?
        if let s = try a.ints("starts"), let e = try a.ints("ends") {
            starts = s; ends = e; axesGiven = try a.ints("axes"); steps = nil
        } else {
            starts = try ctx.requiredConstant(1, "starts").clampedIntegers("starts")
            ends = try ctx.requiredConstant(2, "ends").clampedIntegers("ends")
            axesGiven = ctx.hasInput(3) ? try ctx.requiredConstant(3, "axes").integers("axes") : nil
            steps = ctx.hasInput(4) ? try ctx.requiredConstant(4, "steps").integers("steps") : nil
        }
        let axes = try (axesGiven ?? Array(0..<starts.count)).map { try ctx.axis($0, rank: shape.count) }
        guard starts.count == ends.count, axes.count == starts.count, (steps?.count ?? starts.count) == starts.count else {
            throw ConversionError("starts, ends, axes and steps must have the same length")
        }
        guard Set(axes).count == axes.count else { throw ConversionError("axes \(axesGiven ?? []) repeat an axis") }
        var plan = try SlicePlan.all(shape)
        for (k, axis) in axes.enumerated() {
            let n = shape[axis], step = steps?[k] ?? 1
            guard step != 0 else { throw ConversionError("step 0 on axis \(axis)") }
            var start = starts[k] < 0 ? starts[k] + n : starts[k]
            var end = ends[k] < 0 ? ends[k] + n : ends[k]
            if step > 0 {
                start = min(max(start, 0), n); end = min(max(end, 0), n)
                plan.indices[axis] = Array(stride(from: start, to: end, by: step))
            } else {
                start = min(max(start, 0), n - 1); end = min(max(end, -1), n - 1)
                plan.indices[axis] = Array(stride(from: start, to: end, by: step))
            }
            guard allowEmpty || !plan.indices[axis].isEmpty else {
                throw ConversionError("the slice of axis \(axis) is empty, which Kiln cannot represent")
            }
        }
        return plan
    }
}
