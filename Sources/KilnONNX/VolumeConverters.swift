import KilnIR

/// 3-d `Conv`, `MaxPool` and `AveragePool` (NCDHW, what video and volumetric models export) on
/// Kiln's 2-d ops: the depth axis is taken apart into its window taps — for each depth tap, the
/// input's depth positions that tap reads (a slice or strided gather) are folded into the batch
/// and convolved or pooled in 2-d; the taps are then summed (convolution), maximised (max
/// pooling) or averaged (average pooling, with the per-position divisor ONNX prescribes). The
/// arithmetic is that of the 3-d op; its gradient comes from the 2-d ops'. Inputs of rank 3 and
/// 4 still go to `ConvolutionConverters`, except dilated poolings and `LpPool`, which
/// `TapPooling` computes for 1 to 3 spatial axes.
enum VolumeConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        for name in ["Conv", "MaxPool", "AveragePool"] {
            let planar = t[name]
            t[name] = { ctx in
                let dilated = try (ctx.attributes.ints("dilations") ?? []).contains { $0 != 1 }
                let rank = try ctx.rank(0)
                if name != "Conv" && dilated && (3...5).contains(rank) {
                    guard !ctx.wantsOutput(1) else { throw ConversionError("the Indices output is not supported") }
                    return try ctx.define(0, try TapPooling.pool(ctx, name == "MaxPool" ? .max : .average))
                }
                if name == "Conv", try DilatedConvolution.applies(ctx) {
                    return try ctx.define(0, try DilatedConvolution.convert(ctx))
                }
                guard rank == 5 else {
                    guard let planar else { throw ConversionError("unsupported op '\(name)'") }
                    return try planar(ctx)
                }
                switch name {
                case "Conv": try ctx.define(0, try conv3d(ctx))
                case "MaxPool":
                    guard !ctx.wantsOutput(1) else { throw ConversionError("the Indices output is not supported") }
                    try ctx.define(0, try pool3d(ctx, max: true))
                default: try ctx.define(0, try pool3d(ctx, max: false))
                }
            }
        }
        t["LpPool"] = { ctx in try ctx.define(0, try TapPooling.pool(ctx, .lp(try ctx.attributes.float("p", 2)))) }
    }

    /// Strides, dilations and per-side padding of a 3-d window, with auto_pad and ceil_mode
    /// resolved (the rules of `WindowAttributes`, for three axes).
    struct Window {
        var kernel: [Int], strides: [Int], dilations: [Int], begin: [Int], end: [Int]

        func output(_ spatial: [Int]) -> [Int] {
            (0..<spatial.count).map { a in (spatial[a] + begin[a] + end[a] - ((kernel[a] - 1) * dilations[a] + 1)) / strides[a] + 1 }
        }

        init(_ ctx: ImportContext, spatial: [Int], kernel: [Int], ceilMode: Bool) throws {
            let n = spatial.count, a = ctx.attributes
            guard kernel.count == n else { throw ConversionError("kernel_shape \(kernel) does not match the \(n) spatial axes") }
            let ones = Array(repeating: 1, count: n)
            let strides = try a.ints("strides") ?? ones, dilations = try a.ints("dilations") ?? ones
            guard strides.count == n, dilations.count == n else { throw ConversionError("strides \(strides) and dilations \(dilations) need \(n) entries") }
            try WindowAttributes.check("strides", strides, least: 1)
            try WindowAttributes.check("dilations", dilations, least: 1)
            try WindowAttributes.check("kernel_shape", kernel, least: 1)
            let (begin, end) = try WindowAttributes.padding(ctx, spatial: spatial, kernel: kernel, strides: strides, dilations: dilations,
                                                            ceilMode: ceilMode)
            (self.kernel, self.strides, self.dilations, self.begin, self.end) = (kernel, strides, dilations, begin, end)
            guard output(spatial).allSatisfy({ $0 >= 1 }) else { throw ConversionError("the window \(kernel) does not fit the padded input \(spatial)") }
        }
    }

    /// The depth positions tap `k` reads for every output depth, folded into the batch:
    /// [N, C, Dp, H, W] → [N·OD, C, H, W] (`x` already padded).
    static func depthTap(_ ctx: ImportContext, _ x: String, _ k: Int, _ win: Window, outDepth: Int) throws -> String {
        let d = try ctx.dims(x)
        var plan = try SlicePlan.all(d)
        plan.indices[2] = (0..<outDepth).map { $0 * win.strides[0] + k * win.dilations[0] }
        let taken = try LayoutConverters.take(ctx, x, plan)
        let moved = try ctx.emit(.transpose, [taken], [("perm", .ints([0, 2, 1, 3, 4]))])
        return try ctx.emit(.reshape, [moved], [("shape", .ints([d[0] * outDepth, d[1], d[3], d[4]]))])
    }

    /// [N·OD, C, H, W] back to [N, C, OD, H, W].
    static func unfold(_ ctx: ImportContext, _ y: String, batch: Int, outDepth: Int) throws -> String {
        let d = try ctx.dims(y)
        let split = try ctx.emit(.reshape, [y], [("shape", .ints([batch, outDepth, d[1], d[2], d[3]]))])
        return try ctx.emit(.transpose, [split], [("perm", .ints([0, 2, 1, 3, 4]))])
    }

    static func conv3d(_ ctx: ImportContext) throws -> String {
        let xd = try ctx.shape(0), wd = try ctx.shape(1)
        guard wd.count == 5 else { throw ConversionError("W must have rank 5 for a 3-d convolution, has shape \(wd)") }
        let kernel = try ctx.attributes.ints("kernel_shape") ?? Array(wd.dropFirst(2))
        guard kernel == Array(wd.dropFirst(2)) else { throw ConversionError("kernel_shape \(kernel) disagrees with W's shape \(wd)") }
        let spatial = Array(xd.dropFirst(2))
        let win = try Window(ctx, spatial: spatial, kernel: kernel, ceilMode: false)
        let groups = try ctx.attributes.int("group", 1)
        let (channels, outputs) = (xd[1], wd[0])
        guard groups > 0, channels % groups == 0, outputs % groups == 0, wd[1] == channels / groups else {
            throw ConversionError("group \(groups) does not fit input \(xd) and filter \(wd)")
        }
        guard try ctx.type(0).dtype == .f32 else { throw ConversionError("X must be float") }
        var x = try ctx.operand(0)
        if win.begin != [0, 0, 0] || win.end != [0, 0, 0] {
            x = try ctx.emit(.pad, [x], [("before", .ints([0, 0] + win.begin)), ("after", .ints([0, 0] + win.end))])
        }
        let w = try ctx.operand(1), out = win.output(spatial), n = xd[0]
        let (cg, og) = (channels / groups, outputs / groups)
        let pd = try ctx.dims(x)
        var parts: [String] = []
        for g in 0..<groups {
            let xs = groups == 1 ? x : try ctx.emit(.slice, [x], [("begin", .ints([0, g * cg, 0, 0, 0])), ("end", .ints([n, (g + 1) * cg] + Array(pd[2...])))])
            var sum: String? = nil
            for k in 0..<kernel[0] {
                let tap = try depthTap(ctx, xs, k, win, outDepth: out[0])
                var filter = try ctx.emit(.slice, [w], [("begin", .ints([g * og, 0, k, 0, 0])), ("end", .ints([(g + 1) * og, cg, k + 1, kernel[1], kernel[2]]))])
                filter = try ctx.emit(.reshape, [filter], [("shape", .ints([og, cg, kernel[1], kernel[2]]))])
                if win.dilations[1] != 1 || win.dilations[2] != 1 { filter = try ConvolutionConverters.dilate(ctx, filter, Array(win.dilations[1...])) }
                let y = try ctx.emit(.conv2d, [tap, filter], [("stride", .ints(Array(win.strides[1...]))), ("padding", .ints([0, 0]))])
                sum = try sum.map { try ctx.emit(.add, [$0, y]) } ?? y
            }
            guard let sum else { throw ConversionError("the filter is empty") }
            parts.append(try unfold(ctx, sum, batch: n, outDepth: out[0]))
        }
        var y = parts.count == 1 ? parts[0] : try ctx.emit(.concat, parts, [("axis", .int(1))])
        if ctx.hasInput(2) {
            y = try ctx.emit(.add, [y, try ctx.emit(.reshape, [try ctx.operand(2)], [("shape", .ints([1, outputs, 1, 1, 1]))])])
        }
        return y
    }

    static func pool3d(_ ctx: ImportContext, max isMax: Bool) throws -> String {
        let xd = try ctx.shape(0), spatial = Array(xd.dropFirst(2))
        guard let kernel = try ctx.attributes.ints("kernel_shape") else { throw ConversionError("kernel_shape is missing") }
        let win = try Window(ctx, spatial: spatial, kernel: kernel, ceilMode: try ctx.attributes.int("ceil_mode", 0) != 0)
        guard win.dilations == [1, 1, 1] else { throw ConversionError("dilations \(win.dilations) are not supported for pooling") }
        guard try ctx.type(0).dtype == .f32 else { throw ConversionError("3-d pooling of integers is not supported") }
        let (n, c) = (xd[0], xd[1]), out = win.output(spatial)
        var x = try ctx.operand(0)
        let padded = win.begin != [0, 0, 0] || win.end != [0, 0, 0]
        if padded {
            x = try ctx.emit(.pad, [x], [("before", .ints([0, 0] + win.begin)), ("after", .ints([0, 0] + win.end))])
            if isMax {
                // The padding loses every comparison: −∞ where a padded mask is 0.
                let inside = try ctx.emit(.pad, [try ctx.constantNode(1, shape: [1, 1] + spatial)], [("before", .ints([0, 0] + win.begin)), ("after", .ints([0, 0] + win.end))])
                x = try ctx.emit(.select, [inside, x, try ctx.constantNode(-Double.infinity)])
            }
        }
        // Depth taps combined first ([N, C, OD, Hp, Wp]), then the 2-d pool over H and W.
        var combined: String? = nil
        for k in 0..<kernel[0] {
            var plan = try SlicePlan.all(try ctx.dims(x))
            plan.indices[2] = (0..<out[0]).map { $0 * win.strides[0] + k }
            let tap = try LayoutConverters.take(ctx, x, plan)
            combined = try combined.map { try ctx.emit(isMax ? .max : .add, [$0, tap]) } ?? tap
        }
        guard var depthPooled = combined else { throw ConversionError("the window is empty") }
        let pd = try ctx.dims(depthPooled)
        depthPooled = try ctx.emit(.reshape, [depthPooled], [("shape", .ints([n, c * out[0], pd[3], pd[4]]))])
        let attrs: [(String, AttrValue)] = [("window", .ints(Array(kernel[1...]))), ("stride", .ints(Array(win.strides[1...]))), ("padding", .ints([0, 0]))]
        var y = try ctx.emit(isMax ? .max_pool2d : .avg_pool2d, [depthPooled], attrs)
        y = try ctx.emit(.reshape, [y], [("shape", .ints([n, c] + out))])
        if isMax { return y }
        // avg_pool2d divided by kh·kw; ONNX divides by the positions inside the input (or inside
        // input and declared pads with count_include_pad), never counting ceil_mode's extension.
        let declared = try Window(ctx, spatial: spatial, kernel: kernel, ceilMode: false)
        let includePad = try ctx.attributes.int("count_include_pad", 0) != 0
        let area = Double(kernel[1] * kernel[2])
        try ConstantFolder.ensure(ctx, checkedElementCount(out), "AveragePool's divisors")
        ctx.foldedElements += out.reduce(1, *)
        var factors: [Double] = []
        for od in 0..<out[0] {
            for oh in 0..<out[1] {
                for ow in 0..<out[2] {
                    var count = 1
                    for (axis, o) in [od, oh, ow].enumerated() {
                        let start = o * win.strides[axis] - win.begin[axis]
                        let (lo, hi) = includePad ? (-declared.begin[axis], spatial[axis] + declared.end[axis]) : (0, spatial[axis])
                        count *= Swift.max(0, Swift.min(start + kernel[axis], hi) - Swift.max(start, lo))
                    }
                    factors.append(count > 0 ? area / Double(count) : 0)
                }
            }
        }
        let factor = try ctx.stateTensor("pool_factor", ConstantTensor(shape: [1, 1] + out, values: factors, isInteger: false))
        return try ctx.emit(.mul, [y, factor])
    }
}
