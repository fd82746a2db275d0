import KilnIR

/// ONNX `ConvTranspose`, 1-d to 3-d: strides, dilations, pads, output_padding, output_shape,
/// auto_pad and groups. Each group is the input gradient of a convolution whose filter is W
/// ([C_in, C_out/group, k…] read as OIHW): `conv2d_grad_input` over height and width (a dilated
/// filter spread with zeros, in the graph, so W stays one param); a 3-d one runs that per depth
/// tap on the depth slices folded into the batch and places each tap's result at its strided,
/// dilated depth offset. The full result is then cropped to the pads (or extended with zeros
/// where output_shape asks for more), as ONNX's reference implementation does.
enum ConvTransposeConverter {
    static func register(_ t: inout [String: (ImportContext) throws -> Void]) {
        t["ConvTranspose"] = { ctx in try ctx.define(0, try convert(ctx)) }
    }

    static func convert(_ ctx: ImportContext) throws -> String {
        let xd = try ctx.shape(0), wd = try ctx.shape(1), a = ctx.attributes
        let n = xd.count - 2
        guard (1...3).contains(n), wd.count == xd.count else {
            throw ConversionError("only 1-d, 2-d and 3-d transposed convolutions (X of rank 3 to 5, W of the same rank) are supported, got X \(xd) and W \(wd)")
        }
        guard try ctx.type(0).dtype == .f32 else { throw ConversionError("X must be float") }
        let spatial = Array(xd.dropFirst(2)), kernel = try a.ints("kernel_shape") ?? Array(wd.dropFirst(2))
        guard kernel == Array(wd.dropFirst(2)) else { throw ConversionError("kernel_shape \(kernel) disagrees with W's shape \(wd)") }
        let strides = try a.ints("strides") ?? Array(repeating: 1, count: n)
        let dilations = try a.ints("dilations") ?? Array(repeating: 1, count: n)
        let extra = try a.ints("output_padding") ?? Array(repeating: 0, count: n)
        guard strides.count == n, dilations.count == n, extra.count == n else {
            throw ConversionError("strides, dilations and output_padding must match the \(n) spatial axes")
        }
        try WindowAttributes.check("strides", strides, least: 1)
        try WindowAttributes.check("dilations", dilations, least: 1)
        try WindowAttributes.check("kernel_shape", kernel, least: 1)
        try WindowAttributes.check("output_padding", extra, least: 0)
        // As onnxruntime: 0 ≤ output_padding < max(stride, dilation).
        for i in 0..<n where extra[i] >= max(strides[i], dilations[i]) {
            throw ConversionError("output_padding \(extra) must be smaller than strides \(strides) or dilations \(dilations)")
        }
        var full: [Int] = []
        for i in 0..<n { full.append((spatial[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 + extra[i]) }
        let autoPad = a.string("auto_pad", "NOTSET")
        guard ["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"].contains(autoPad) else { throw ConversionError("auto_pad '\(autoPad)' is not supported") }
        var outShape: [Int]? = nil
        if let given = try a.ints("output_shape") {
            // Either the spatial extents or the full [N, C, …] shape.
            let s = given.count == n + 2 ? Array(given.dropFirst(2)) : given
            guard s.count == n else { throw ConversionError("output_shape \(given) must have \(n) spatial entries") }
            try WindowAttributes.check("output_shape", s, least: 1)
            outShape = s
        }
        var begin: [Int], out: [Int]
        if let pads = try a.ints("pads"), autoPad == "NOTSET" || autoPad == "VALID" {
            guard pads.count == 2 * n else { throw ConversionError("pads \(pads) needs \(2 * n) entries") }
            try WindowAttributes.check("pads", pads, least: 0)
            begin = Array(pads[..<n])
            out = outShape ?? (0..<n).map { full[$0] - pads[$0] - pads[n + $0] }
        } else if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
            out = outShape ?? (0..<n).map { spatial[$0] * strides[$0] }
            begin = (0..<n).map { i in
                let total = full[i] - out[i]
                let half = Int((Double(total) / 2).rounded(.down))
                return autoPad == "SAME_UPPER" ? half : total - half
            }
        } else {
            begin = Array(repeating: 0, count: n)
            out = outShape ?? full
        }
        guard out.allSatisfy({ $0 > 0 }), checkedElementCount([xd[0], wd[1]] + out) != nil else { throw ConversionError("the output \(out) would be empty or too large") }

        let groups = try a.int("group", 1)
        guard groups > 0, xd[1] % groups == 0, wd[0] == xd[1] else { throw ConversionError("group \(groups) does not fit input \(xd) and weights \(wd)") }
        // Canonical 5-d: [N, C, D, H, W] (missing leading spatial axes of extent 1).
        let lift = Array(repeating: 1, count: 3 - n)
        let (s3, d3, k3) = (lift + strides, lift + dilations, lift + kernel)
        let x = try ctx.emit(.reshape, [try ctx.operand(0)], [("shape", .ints(Array(xd[..<2]) + lift + spatial))])
        let w = try ctx.emit(.reshape, [try ctx.operand(1)], [("shape", .ints(Array(wd[..<2]) + lift + kernel))])
        let (cg, og) = (xd[1] / groups, wd[1])
        let x5 = try ctx.dims(x)
        var parts: [String] = []
        for g in 0..<groups {
            let xs = groups == 1 ? x : try ctx.emit(.slice, [x], [("begin", .ints([0, g * cg, 0, 0, 0])), ("end", .ints([x5[0], (g + 1) * cg] + Array(x5[2...])))])
            let ws = groups == 1 ? w : try ctx.emit(.slice, [w], [("begin", .ints([g * cg, 0, 0, 0, 0])), ("end", .ints([(g + 1) * cg, og] + k3))])
            parts.append(try grouped(ctx, xs, ws, strides: s3, dilations: d3, kernel: k3))
        }
        var y = parts.count == 1 ? parts[0] : try ctx.emit(.concat, parts, [("axis", .int(1))])
        // Crop to [begin, begin + out) per axis of the full extent (output_padding's zeros included).
        let begin3 = lift.map { _ in 0 } + begin, out3 = lift + out
        let yd = try ctx.dims(y)
        var lo = [0, 0], hi = [yd[0], yd[1]], before = [0, 0], after = [0, 0]
        for i in 0..<3 {
            lo.append(min(max(begin3[i], 0), yd[2 + i]))
            hi.append(max(min(begin3[i] + out3[i], yd[2 + i]), lo[2 + i]))
            before.append(max(-begin3[i], 0))
            after.append(out3[i] - (hi[2 + i] - lo[2 + i]) - max(-begin3[i], 0))
        }
        guard zip(lo, hi).allSatisfy({ $0 < $1 }), after.allSatisfy({ $0 >= 0 }) else { throw ConversionError("the pads leave nothing of the output") }
        if lo != [0, 0, 0, 0, 0] || hi != yd { y = try ctx.emit(.slice, [y], [("begin", .ints(lo)), ("end", .ints(hi))]) }
        if before.contains(where: { $0 > 0 }) || after.contains(where: { $0 > 0 }) {
            y = try ctx.emit(.pad, [y], [("before", .ints(before)), ("after", .ints(after))])
        }
        if ctx.hasInput(2) {
            y = try ctx.emit(.add, [y, try ctx.emit(.reshape, [try ctx.operand(2)], [("shape", .ints([1, og * groups, 1, 1, 1]))])])
        }
        return try ctx.emit(.reshape, [y], [("shape", .ints([xd[0], og * groups] + out))])
    }

    /// One group in 5-d: x [N, C, D, H, W], w [C, O, kd, kh, kw] → [N, O, full D, full H, full W]
    /// (full without output_padding: the caller's crop extends with zeros).
    static func grouped(_ ctx: ImportContext, _ x: String, _ w: String, strides s: [Int], dilations d: [Int], kernel k: [Int]) throws -> String {
        let xd = try ctx.dims(x), wd = try ctx.dims(w)
        let (batch, c, depth) = (xd[0], xd[1], xd[2]), o = wd[1]
        let plane = [(xd[3] - 1) * s[1] + (k[1] - 1) * d[1] + 1, (xd[4] - 1) * s[2] + (k[2] - 1) * d[2] + 1]
        let fullDepth = (depth - 1) * s[0] + (k[0] - 1) * d[0] + 1
        let folded: String
        if depth == 1 {
            folded = try ctx.emit(.reshape, [x], [("shape", .ints([batch, c, xd[3], xd[4]]))])
        } else {
            let moved = try ctx.emit(.transpose, [x], [("perm", .ints([0, 2, 1, 3, 4]))])
            folded = try ctx.emit(.reshape, [moved], [("shape", .ints([batch * depth, c, xd[3], xd[4]]))])
        }
        var sum: String? = nil
        for kd in 0..<k[0] {
            var filter = try ctx.emit(.slice, [w], [("begin", .ints([0, 0, kd, 0, 0])), ("end", .ints([c, o, kd + 1, k[1], k[2]]))])
            filter = try ctx.emit(.reshape, [filter], [("shape", .ints([c, o, k[1], k[2]]))])
            if d[1] != 1 || d[2] != 1 { filter = try ConvolutionConverters.dilate(ctx, filter, [d[1], d[2]]) }
            let planes = try ctx.emit(.conv2d_grad_input, [folded, filter], [("shape", .ints([batch * depth, o] + plane)), ("stride", .ints([s[1], s[2]]))])
            var y = try ctx.emit(.reshape, [planes], [("shape", .ints([batch, depth, o] + plane)) ])
            y = try ctx.emit(.transpose, [y], [("perm", .ints([0, 2, 1, 3, 4]))])
            if depth > 1 && s[0] > 1 {
                // Input depth i lands at i·stride: spread with stride − 1 zero slices between.
                let spread = try ctx.emit(.reshape, [y], [("shape", .ints([batch, o, depth, 1] + plane))])
                let padded = try ctx.emit(.pad, [spread], [("before", .ints([0, 0, 0, 0, 0, 0])), ("after", .ints([0, 0, 0, s[0] - 1, 0, 0]))])
                let flat = try ctx.emit(.reshape, [padded], [("shape", .ints([batch, o, depth * s[0]] + plane))])
                y = try ctx.emit(.slice, [flat], [("begin", .ints([0, 0, 0, 0, 0])), ("end", .ints([batch, o, (depth - 1) * s[0] + 1] + plane))])
            }
            let offset = kd * d[0], span = (depth - 1) * s[0] + 1
            if offset > 0 || fullDepth - offset - span > 0 {
                y = try ctx.emit(.pad, [y], [("before", .ints([0, 0, offset, 0, 0])), ("after", .ints([0, 0, fullDepth - offset - span, 0, 0]))])
            }
            sum = try sum.map { try ctx.emit(.add, [$0, y]) } ?? y
        }
        guard let sum else { throw ConversionError("the filter is empty") }
        return sum
    }
}
