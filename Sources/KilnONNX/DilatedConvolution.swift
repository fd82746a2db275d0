import KilnIR

/// A 1-d or 2-d `Conv` (group 1) whose dilation would spread the filter to many times its
/// size — DeepLab's atrous pyramid dilates 3×3 filters by 12 to 36, which as one spread filter
/// is 73×73 (a 5 GB weight for 256×960 channels) — computed as a sum over the filter's taps of
/// 1×1 convolutions of the input shifted by tap × dilation (a slice, or a strided gather). The
/// arithmetic is the dilated convolution's; W stays one param (its taps are slices of it).
enum DilatedConvolution {
    /// Dilated filters up to this many times the filter's own area keep the spread-filter path
    /// of `ConvolutionConverters` (one convolution); larger ones are computed tap by tap.
    static let spreadLimit = 4

    /// Whether the current Conv node should be computed tap by tap.
    static func applies(_ ctx: ImportContext) throws -> Bool {
        let rank = try ctx.rank(0)
        guard rank == 3 || rank == 4, try ctx.attributes.int("group", 1) == 1,
              let dilations = try ctx.attributes.ints("dilations"), dilations.contains(where: { $0 > 1 }) else { return false }
        let kernel = Array(try ctx.shape(1).dropFirst(2))
        guard kernel.count == dilations.count, dilations.allSatisfy({ $0 >= 1 && $0 <= WindowAttributes.maximumExtent }) else { return false }
        let area = kernel.reduce(1, *)
        let spread = zip(kernel, dilations).reduce(1) { $0 * (($1.0 - 1) * $1.1 + 1) }
        return spread > spreadLimit * area
    }

    static func convert(_ ctx: ImportContext) throws -> String {
        let (x, restore) = try ConvolutionConverters.as2D(ctx, try ctx.operand(0))
        let (w, _) = try ConvolutionConverters.as2D(ctx, try ctx.operand(1))
        let xd = try ctx.dims(x), wd = try ctx.dims(w)
        let spatial = Array(try ctx.shape(0).dropFirst(2))
        let kernel = try ctx.attributes.ints("kernel_shape") ?? Array(try ctx.shape(1).dropFirst(2))
        guard kernel == Array(try ctx.shape(1).dropFirst(2)) else { throw ConversionError("kernel_shape \(kernel) disagrees with W's shape \(try ctx.shape(1))") }
        let win = try WindowAttributes(ctx, spatial: spatial, kernel: kernel)
        guard wd[1] == xd[1] else { throw ConversionError("W \(wd) does not fit input \(xd) (group 1)") }
        var input = x
        if win.begin != [0, 0] || win.end != [0, 0] {
            input = try ctx.emit(.pad, [x], [("before", .ints([0, 0] + win.begin)), ("after", .ints([0, 0] + win.end))])
        }
        let out = win.output([xd[2], xd[3]]), pd = try ctx.dims(input)
        var sum: String? = nil
        for i in 0..<wd[2] {
            for j in 0..<wd[3] {
                var plan = try SlicePlan.all(pd)
                plan.indices[2] = (0..<out[0]).map { $0 * win.strides[0] + i * win.dilations[0] }
                plan.indices[3] = (0..<out[1]).map { $0 * win.strides[1] + j * win.dilations[1] }
                let shifted = try LayoutConverters.take(ctx, input, plan)
                let tap = try ctx.emit(.slice, [w], [("begin", .ints([0, 0, i, j])), ("end", .ints([wd[0], wd[1], i + 1, j + 1]))])
                let y = try ctx.emit(.conv2d, [shifted, tap], [("stride", .ints([1, 1])), ("padding", .ints([0, 0]))])
                sum = try sum.map { try ctx.emit(.add, [$0, y]) } ?? y
            }
        }
        guard var y = sum else { throw ConversionError("the filter is empty") }
        if ctx.hasInput(2) {
            y = try ctx.emit(.add, [y, try ctx.emit(.reshape, [try ctx.operand(2)], [("shape", .ints([1, wd[0], 1, 1]))])])
        }
        return try restore(y)
    }
}
