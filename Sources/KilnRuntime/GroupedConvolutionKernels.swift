import KilnIR

/// Grouped convolution (and depthwise, groups = channels) defined as what it means: `groups`
/// independent convolutions, group g reading input channels [g·C/G, (g+1)·C/G) and filters
/// [g·O/G, (g+1)·O/G), its outputs in those output channels. Each group's channels are copied
/// out, convolved by the ungrouped kernels and copied back — the oracle the JIT's grouped
/// lowering is checked against, so it is written for clarity, not speed.
enum GroupedConvolutionKernels {
    /// Channel block `group` of `groups` along axis 1 of a rank-4 tensor (axis 0 when `outerAxis`).
    private static func block(_ t: Tensor, group: Int, of groups: Int, outerAxis: Bool = false) -> Tensor {
        let d = t.shape.dims
        var shape = d
        if outerAxis { shape[0] /= groups } else { shape[1] /= groups }
        let part = Tensor(zeros: TensorType(.f32, Shape(shape)))
        copyBlock(group: group, of: groups, dims: d, outerAxis: outerAxis) { whole, piece, count in
            (part.floatPointer + piece).update(from: t.floatPointer + whole, count: count)
        }
        return part
    }

    /// Writes `part` back as channel block `group` of `into`.
    private static func place(_ part: Tensor, into t: Tensor, group: Int, of groups: Int, outerAxis: Bool = false) {
        copyBlock(group: group, of: groups, dims: t.shape.dims, outerAxis: outerAxis) { whole, piece, count in
            (t.floatPointer + whole).update(from: part.floatPointer + piece, count: count)
        }
    }

    /// Calls `copy(offset in the whole tensor, offset in the block, count)` per contiguous run.
    private static func copyBlock(group: Int, of groups: Int, dims d: [Int], outerAxis: Bool,
                                  _ copy: (Int, Int, Int) -> Void) {
        let inner = d[2] * d[3]
        if outerAxis {
            let rows = d[0] / groups, run = rows * d[1] * inner
            copy(group * run, 0, run)
            return
        }
        let channels = d[1] / groups, run = channels * inner
        for a in 0..<d[0] { copy((a * d[1] + group * channels) * inner, a * run, run) }
    }

    static func conv2d(_ x: Tensor, _ w: Tensor, _ attrs: Attributes, groups: Int, into out: Tensor) {
        for g in 0..<groups {
            let y = Tensor(zeros: TensorType(.f32, Shape([out.shape[0], out.shape[1] / groups, out.shape[2], out.shape[3]])))
            ConvolutionKernels.conv2d(block(x, group: g, of: groups), block(w, group: g, of: groups, outerAxis: true), attrs, into: y)
            place(y, into: out, group: g, of: groups)
        }
    }

    static func gradInput(_ dy: Tensor, _ w: Tensor, _ attrs: Attributes, groups: Int, into dx: Tensor) {
        for g in 0..<groups {
            let part = Tensor(zeros: TensorType(.f32, Shape([dx.shape[0], dx.shape[1] / groups, dx.shape[2], dx.shape[3]])))
            ConvolutionKernels.gradInput(block(dy, group: g, of: groups), block(w, group: g, of: groups, outerAxis: true), attrs, into: part)
            place(part, into: dx, group: g, of: groups)
        }
    }

    static func gradFilter(_ x: Tensor, _ dy: Tensor, _ attrs: Attributes, groups: Int, into dw: Tensor) {
        for g in 0..<groups {
            let part = Tensor(zeros: TensorType(.f32, Shape([dw.shape[0] / groups, dw.shape[1], dw.shape[2], dw.shape[3]])))
            ConvolutionKernels.gradFilter(block(x, group: g, of: groups), block(dy, group: g, of: groups), attrs, into: part)
            place(part, into: dw, group: g, of: groups, outerAxis: true)
        }
    }
}
