import KilnIR

/// `Conv`, `MaxPool`, `AveragePool` (1-d and 2-d) on Kiln's `conv2d` and poolings, which take
/// symmetric padding and no dilation: asymmetric padding becomes a `pad`, a dilated
/// filter is spread with zeros (in the graph, so it stays one trainable param), grouped
/// and depthwise convolutions are Kiln's `conv2d` with `groups`.
enum ConvolutionConverters {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["Conv"] = { ctx in try ctx.define(0, try conv(ctx)) }
        t["MaxPool"] = { ctx in
            guard !ctx.wantsOutput(1) else { throw ConversionError("the Indices output is not supported") }
            try ctx.define(0, try pool(ctx, max: true))
        }
        t["AveragePool"] = { ctx in try ctx.define(0, try pool(ctx, max: false)) }
    }

    /// The input as 4-d NCHW (a 1-d input gets height 1) and a function restoring the rank.
    static func as2D(_ ctx: ImportContext, _ x: String) throws -> (String, (String) throws -> String) {
        let dims = try ctx.dims(x)
        switch dims.count {
        case 4: return (x, { $0 })
        case 3:
            let x4 = try ctx.emit(.reshape, [x], [("shape", .ints([dims[0], dims[1], 1, dims[2]]))])
            return (x4, { y in let d = try ctx.dims(y); return try ctx.emit(.reshape, [y], [("shape", .ints([d[0], d[1], d[3]]))]) })
        default: throw ConversionError("only 1-d and 2-d inputs (rank 3 or 4) are supported, got rank \(dims.count)")
        }
    }

    static func conv(_ ctx: ImportContext) throws -> String {
        let (x, restore) = try as2D(ctx, try ctx.operand(0))
        var (w, _) = try as2D(ctx, try ctx.operand(1))
        let xd = try ctx.dims(x), wd = try ctx.dims(w)
        let spatial = Array(try ctx.shape(0).dropFirst(2))
        let kernel = try ctx.attributes.ints("kernel_shape") ?? Array(try ctx.shape(1).dropFirst(2))
        // The filter's shape decides the convolution; a kernel_shape saying otherwise is invalid
        // (onnxruntime refuses it), not something to ignore.
        guard kernel == Array(try ctx.shape(1).dropFirst(2)) else { throw ConversionError("kernel_shape \(kernel) disagrees with W's shape \(try ctx.shape(1))") }
        let win = try WindowAttributes(ctx, spatial: spatial, kernel: kernel)
        let groups = try ctx.attributes.int("group", 1)
        let (channels, outputs) = (xd[1], wd[0])
        guard groups > 0, channels % groups == 0, outputs % groups == 0, wd[1] == channels / groups else {
            throw ConversionError("group \(groups) does not fit input \(xd) and filter \(wd)")
        }
        if win.dilations != [1, 1] { w = try dilate(ctx, w, win.dilations) }
        var input = x, padding = win.begin
        if !win.isSymmetric {
            input = try ctx.emit(.pad, [x], [("before", .ints([0, 0] + win.begin)), ("after", .ints([0, 0] + win.end))])
            padding = [0, 0]
        }
        var attrs: [(String, AttrValue)] = [("stride", .ints(win.strides)), ("padding", .ints(padding))]
        if groups > 1 { attrs.append(("groups", .int(groups))) }
        var y = try ctx.emit(.conv2d, [input, w], attrs)
        if ctx.hasInput(2) {
            y = try ctx.emit(.add, [y, try ctx.emit(.reshape, [try ctx.operand(2)], [("shape", .ints([1, outputs, 1, 1]))])])
        }
        return try restore(y)
    }

    /// A filter [O, I, kh, kw] with d−1 zeros between taps: [O, I, kh, 1, kw, 1] padded after
    /// the unit axes, reshaped, and the trailing zeros sliced off.
    static func dilate(_ ctx: ImportContext, _ w: String, _ d: [Int]) throws -> String {
        let s = try ctx.dims(w)
        let spread = try ctx.emit(.reshape, [w], [("shape", .ints([s[0], s[1], s[2], 1, s[3], 1]))])
        let padded = try ctx.emit(.pad, [spread], [("before", .ints([0, 0, 0, 0, 0, 0])), ("after", .ints([0, 0, 0, d[0] - 1, 0, d[1] - 1]))])
        let flat = try ctx.emit(.reshape, [padded], [("shape", .ints([s[0], s[1], s[2] * d[0], s[3] * d[1]]))])
        return try ctx.emit(.slice, [flat], [("begin", .ints([0, 0, 0, 0])), ("end", .ints([s[0], s[1], (s[2] - 1) * d[0] + 1, (s[3] - 1) * d[1] + 1]))])
    }

    static func pool(_ ctx: ImportContext, max isMax: Bool) throws -> String {
        var source = try ctx.operand(0)
        // Kiln pools f32; integer maxima (uint8 images) are exact in f32 below 2^24.
        let integer = try ctx.kilnType(source).dtype == .i32
        if integer {
            guard isMax else { throw ConversionError("average pooling of integers is not supported") }
            source = try ctx.emit(.cast, [source], [("dtype", .dtype(.f32))])
        }
        let (x, restoreRank) = try as2D(ctx, source)
        let restore: (String) throws -> String = { y in
            let r = try restoreRank(y)
            return integer ? try ctx.emit(.cast, [r], [("dtype", .dtype(.i32))]) : r
        }
        let xd = try ctx.dims(x)
        guard let kernel = try ctx.attributes.ints("kernel_shape") else { throw ConversionError("kernel_shape is missing") }
        let spatial = Array(try ctx.shape(0).dropFirst(2))
        let win = try WindowAttributes(ctx, spatial: spatial, kernel: kernel, ceilMode: try ctx.attributes.int("ceil_mode", 0) != 0)
        guard win.dilations == [1, 1] else { throw ConversionError("dilations \(win.dilations) are not supported for pooling") }
        let hw = [xd[2], xd[3]]
        if isMax {
            if win.isSymmetric, win.begin[0] < win.kernel[0], win.begin[1] < win.kernel[1] {
                return try restore(try ctx.emit(.max_pool2d, [x], [("window", .ints(win.kernel)), ("stride", .ints(win.strides)), ("padding", .ints(win.begin))]))
            }
            // Asymmetric: pad, and let the padding lose every comparison (−∞ where the mask is 0).
            let padded = try ctx.emit(.pad, [x], [("before", .ints([0, 0] + win.begin)), ("after", .ints([0, 0] + win.end))])
            let inside = try ctx.emit(.pad, [try ctx.constantNode(1, shape: [1, 1] + hw)], [("before", .ints([0, 0] + win.begin)), ("after", .ints([0, 0] + win.end))])
            let masked = try ctx.emit(.select, [inside, padded, try ctx.constantNode(-Double.infinity)])
            return try restore(try ctx.emit(.max_pool2d, [masked], [("window", .ints(win.kernel)), ("stride", .ints(win.strides))]))
        }
        // Average: Kiln divides by the full window; ONNX by the window's positions inside the
        // input (count_include_pad=0) or inside input and declared pads (=1), never counting the
        // extension ceil_mode adds. A per-position factor corrects the mean where they differ.
        let declared = try WindowAttributes(ctx, spatial: spatial, kernel: kernel, ceilMode: false)
        let includePad = try ctx.attributes.int("count_include_pad", 0) != 0
        var input = x
        if win.begin != [0, 0] || win.end != [0, 0] {
            input = try ctx.emit(.pad, [x], [("before", .ints([0, 0] + win.begin)), ("after", .ints([0, 0] + win.end))])
        }
        var y = try ctx.emit(.avg_pool2d, [input], [("window", .ints(win.kernel)), ("stride", .ints(win.strides))])
        let out = win.output(hw), area = Double(win.kernel[0] * win.kernel[1])
        var factors: [Double] = []
        for oh in 0..<out[0] {
            for ow in 0..<out[1] {
                var count = 1
                for (axis, o) in [oh, ow].enumerated() {
                    let start = o * win.strides[axis] - win.begin[axis]
                    let (lo, hi) = includePad ? (-declared.begin[axis], hw[axis] + declared.end[axis]) : (0, hw[axis])
                    count *= max(0, min(start + win.kernel[axis], hi) - max(start, lo))
                }
                factors.append(count > 0 ? area / Double(count) : 0)
            }
        }
        if factors.contains(where: { $0 != 1 }) {
            let factor = try ctx.stateTensor("pool_factor", ConstantTensor(shape: [1, 1] + out, values: factors, isInteger: false))
            y = try ctx.emit(.mul, [y, factor])
        }
        return try restore(y)
    }
}
