import KilnIR

/// ONNX `Resize` (opsets 10–19) and `Upsample` (7–9): nearest, linear and cubic, every
/// coordinate_transformation_mode and nearest_mode, scales or sizes, `axes`,
/// `keep_aspect_ratio_policy`, `exclude_outside`, antialiasing, tf_crop_and_resize's roi and
/// extrapolation value, any rank.
///
/// Resize is separable: each resized axis becomes `ResizeTaps` (known at import time, since
/// shapes are static), applied as a sum over taps of a row `gather` (a `slice` when contiguous)
/// times a per-position weight. Nearest is one gather per axis and exact; everything is
/// ordinary Kiln ops, so both backends run it and its gradient (scatter-adds of the weighted
/// output gradient) comes from differentiation.
enum ResizeConverter {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["Resize"] = resize
        t["Upsample"] = resize
    }

    static func resize(_ ctx: ImportContext) throws {
        let dims = try ctx.shape(0), rank = dims.count, a = ctx.attributes
        let legacy = ctx.node.opType == "Upsample" || ctx.opset < 11
        guard let mode = ResizeTaps.Mode(rawValue: a.string("mode", "nearest")) else {
            throw ConversionError("mode '\(a.string("mode", ""))' is not supported (nearest, linear, cubic)")
        }
        // Resize-10 and Upsample sample at y / scale and pick nearest neighbours like
        // onnxruntime's Upsample: rounding down when enlarging, up when shrinking.
        let coordinates = legacy ? "asymmetric" : a.string("coordinate_transformation_mode", "half_pixel")
        guard ResizeTaps.coordinateModes.contains(coordinates) else { throw ConversionError("coordinate_transformation_mode '\(coordinates)' is not supported") }
        let nearest = a.string("nearest_mode", "round_prefer_floor")
        guard legacy || ResizeTaps.nearestModes.contains(nearest) else { throw ConversionError("nearest_mode '\(nearest)' is not supported") }
        let antialias = try a.int("antialias", 0) != 0
        if antialias && mode == .nearest { throw ConversionError("antialias is not defined for mode nearest") }

        let axes: [Int]
        if let given = try a.ints("axes") {
            axes = try given.map { try ctx.axis($0, rank: rank, "axes entry") }
            guard Set(axes).count == axes.count else { throw ConversionError("axes \(given) repeat an axis") }
        } else {
            axes = Array(0..<rank)
        }
        // Inputs: Upsample (X, scales) or attribute; Resize-10 (X, scales); later (X, roi, scales, sizes).
        let scalesInput = legacy ? 1 : 2, sizesInput = legacy ? -1 : 3, roiInput = legacy ? -1 : 1
        var scales = Array(repeating: 1.0, count: rank), sizes = dims
        let given = ctx.hasInput(scalesInput) ? try ctx.requiredConstant(scalesInput, "scales") : nil
        let givenSizes = sizesInput >= 0 && ctx.hasInput(sizesInput) ? try ctx.requiredConstant(sizesInput, "sizes") : nil
        if let givenSizes, givenSizes.count > 0 {
            if let given, given.count > 0 { throw ConversionError("scales and sizes are both given; ONNX allows one") }
            let s = try givenSizes.integers("sizes")
            guard s.count == axes.count, s.allSatisfy({ $0 > 0 && $0 < 1 << 31 }) else {
                throw ConversionError("sizes \(s) must hold \(axes.count) positive sizes (an empty output cannot be represented)")
            }
            for (k, axis) in axes.enumerated() { sizes[axis] = s[k]; scales[axis] = Double(s[k]) / Double(dims[axis]) }
            let policy = a.string("keep_aspect_ratio_policy", "stretch")
            if policy != "stretch" {
                guard policy == "not_larger" || policy == "not_smaller" else { throw ConversionError("keep_aspect_ratio_policy '\(policy)' is not supported") }
                let chosen = axes.map { scales[$0] }
                let scale = (policy == "not_larger" ? chosen.min() : chosen.max()) ?? 1
                for axis in axes { scales[axis] = scale; sizes[axis] = Int(scale * Double(dims[axis]) + 0.5) }
            }
        } else {
            let values: [Double]
            if let given, given.count > 0 { values = given.values }
            else if let attribute = try a.floats("scales") { values = attribute }
            else { throw ConversionError("neither scales nor sizes is given") }
            guard values.count == axes.count, values.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw ConversionError("scales \(values) must hold \(axes.count) positive values")
            }
            for (k, axis) in axes.enumerated() {
                scales[axis] = values[k]
                let size = (values[k] * Double(dims[axis])).rounded(.towardZero)
                guard size >= 1, size < Double(1 << 31) else { throw ConversionError("scale \(values[k]) makes axis \(axis) of size \(dims[axis]) empty or too large") }
                sizes[axis] = Int(size)
            }
        }
        guard checkedElementCount(sizes) != nil else { throw ConversionError("the output \(sizes) has more than 2^40 elements") }
        var roi: [Double]? = nil
        if coordinates == "tf_crop_and_resize" {
            let r = try ctx.requiredConstant(roiInput, "roi").values
            guard r.count == 2 * axes.count else { throw ConversionError("roi needs \(2 * axes.count) values, has \(r.count)") }
            var full = Array(repeating: 0.0, count: rank) + Array(repeating: 1.0, count: rank)
            for (k, axis) in axes.enumerated() { full[axis] = r[k]; full[rank + axis] = r[axes.count + k] }
            roi = full
        }
        let dtype = try ctx.type(0).dtype
        guard dtype == .f32 || mode == .nearest else { throw ConversionError("\(mode.rawValue) resizing of integer data is not supported (nearest only)") }

        var y = try ctx.operand(0)
        for axis in axes {
            let axisROI = roi.map { ($0[axis], $0[rank + axis]) }
            let identity = abs(scales[axis] - 1) < 1e-9 && sizes[axis] == dims[axis] && (axisROI.map { abs($0.0) < 1e-9 && abs($0.1 - 1) < 1e-9 } ?? true)
            if identity { continue }
            let options = ResizeTaps.Options(mode: mode, coordinates: coordinates,
                                             nearest: legacy ? (scales[axis] < 1 ? "ceil" : "floor") : nearest,
                                             cubicA: try a.float("cubic_coeff_a", -0.75),
                                             excludeOutside: try a.int("exclude_outside", 0) != 0, antialias: antialias)
            let taps = try ResizeTaps.make(input: dims[axis], output: sizes[axis], scale: scales[axis], roi: axisROI, options)
            y = try apply(ctx, y, axis: axis, taps, extrapolation: try a.float("extrapolation_value", 0))
        }
        try ctx.define(0, y == (try ctx.operand(0)) ? try ctx.emit(.reshape, [y], [("shape", .ints(dims))]) : y)
    }

    /// y = Σ_k x[taps.indices[·][k]] · taps.weights[·][k] along `axis`; taps whose weights are
    /// all 0 are skipped and weights that are all 1 are not multiplied (nearest is one gather).
    static func apply(_ ctx: ImportContext, _ x: String, axis: Int, _ taps: ResizeTaps, extrapolation: Double) throws -> String {
        let dims = try ctx.dims(x), output = taps.indices.count
        let tapCount = taps.weights.first?.count ?? 0
        try ConstantFolder.ensure(ctx, output * tapCount * 2, "Resize's tap tables")
        ctx.foldedElements += output * tapCount * 2
        var weightShape = Array(repeating: 1, count: dims.count)
        weightShape[axis] = output
        var sum: String? = nil
        for k in 0..<tapCount {
            let w = taps.weights.map { Float($0[k]) }
            if w.allSatisfy({ $0 == 0 }) { continue }
            var plan = try SlicePlan.all(dims)
            plan.indices[axis] = taps.indices.map { $0[k] }
            var term = try LayoutConverters.take(ctx, x, plan)
            if !w.allSatisfy({ $0 == 1 }) {
                let weights = try ctx.stateTensor("resize_weights", ConstantTensor(shape: weightShape, values: w.map(Double.init), isInteger: false))
                term = try ctx.emit(.mul, [term, weights])
            }
            sum = try sum.map { try ctx.emit(.add, [$0, term]) } ?? term
        }
        var y = try sum ?? ctx.constantNode(0, shape: dims.enumerated().map { $0.offset == axis ? output : $0.element })
        if taps.outside.contains(true) {
            let mask = try ctx.stateTensor("resize_outside", ConstantTensor(shape: weightShape, values: taps.outside.map { $0 ? 1 : 0 }, isInteger: false))
            y = try ctx.emit(.select, [mask, try ctx.constantNode(extrapolation, dtype: try ctx.kilnType(y).dtype), y])
        }
        return y
    }
}
