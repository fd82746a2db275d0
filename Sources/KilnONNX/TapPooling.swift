import Foundation
import KilnIR

/// Pooling as an explicit sum (or maximum) over window taps, for 1 to 3 spatial axes: each tap
/// is the padded input taken at `o·stride + k·dilation` along every spatial axis (slices, or
/// gathers when strided), combined elementwise. It serves what Kiln's 2-d poolings cannot —
/// dilated windows and `LpPool` — with ONNX's divisors (count_include_pad, ceil_mode) for
/// average pooling.
enum TapPooling {
    enum Kind {
        case max, average
        case lp(Double)
    }

    /// The most taps one window may have (a 7×7×7 window has 343).
    static let maximumTaps = 4096

    static func pool(_ ctx: ImportContext, _ kind: Kind) throws -> String {
        let xd = try ctx.shape(0), spatial = Array(xd.dropFirst(2)), n = spatial.count
        guard (1...3).contains(n) else { throw ConversionError("only 1-d to 3-d pooling (rank 3 to 5) is supported, got rank \(xd.count)") }
        guard let kernel = try ctx.attributes.ints("kernel_shape") else { throw ConversionError("kernel_shape is missing") }
        let ceil = try ctx.attributes.int("ceil_mode", 0) != 0
        let win = try VolumeConverters.Window(ctx, spatial: spatial, kernel: kernel, ceilMode: ceil)
        guard try ctx.type(0).dtype == .f32 else { throw ConversionError("pooling of integers with dilations or Lp is not supported") }
        let taps = kernel.reduce(1, *)
        guard taps <= maximumTaps else { throw ConversionError("a window of \(taps) taps is not supported (at most \(maximumTaps))") }
        let out = win.output(spatial)
        var x = try ctx.operand(0)
        if case .lp(let p) = kind {
            guard p >= 1, p.isFinite else { throw ConversionError("p \(p) is not supported (p ≥ 1)") }
            x = p == 1 ? try ctx.emit(.abs, [x]) : p == 2 ? try ctx.emit(.square, [x]) : try ctx.emit(.pow, [try ctx.emit(.abs, [x]), try ctx.constantNode(p)])
        }
        if win.begin.contains(where: { $0 > 0 }) || win.end.contains(where: { $0 > 0 }) {
            let before = [0, 0] + win.begin, after = [0, 0] + win.end
            x = try ctx.emit(.pad, [x], [("before", .ints(before)), ("after", .ints(after))])
            if case .max = kind {
                let inside = try ctx.emit(.pad, [try ctx.constantNode(1, shape: [1, 1] + spatial)], [("before", .ints(before)), ("after", .ints(after))])
                x = try ctx.emit(.select, [inside, x, try ctx.constantNode(-Double.infinity)])
            }
        }
        var combined: String? = nil
        var offsets = Array(repeating: 0, count: n)
        for _ in 0..<taps {
            var plan = try SlicePlan.all(try ctx.dims(x))
            for a in 0..<n { plan.indices[2 + a] = (0..<out[a]).map { $0 * win.strides[a] + offsets[a] * win.dilations[a] } }
            let tap = try LayoutConverters.take(ctx, x, plan)
            if case .max = kind { combined = try combined.map { try ctx.emit(.max, [$0, tap]) } ?? tap }
            else { combined = try combined.map { try ctx.emit(.add, [$0, tap]) } ?? tap }
            var a = n - 1
            while a >= 0 { offsets[a] += 1; if offsets[a] < kernel[a] { break }; offsets[a] = 0; a -= 1 }
        }
        guard let y = combined else { throw ConversionError("the window is empty") }
        switch kind {
        case .max: return y
        case .lp(let p):
            return p == 1 ? y : p == 2 ? try ctx.emit(.sqrt, [y]) : try ctx.emit(.pow, [y, try ctx.constantNode(1 / p)])
        case .average:
            // Divided by the taps inside the input (or inside input and declared pads with
            // count_include_pad), never counting ceil_mode's extension.
            let declared = try VolumeConverters.Window(ctx, spatial: spatial, kernel: kernel, ceilMode: false)
            let includePad = try ctx.attributes.int("count_include_pad", 0) != 0
            try ConstantFolder.ensure(ctx, checkedElementCount(out), "AveragePool's divisors")
            ctx.foldedElements += out.reduce(1, *)
            var counts: [[Int]] = []
            for a in 0..<n {
                let (lo, hi) = includePad ? (-declared.begin[a], spatial[a] + declared.end[a]) : (0, spatial[a])
                counts.append((0..<out[a]).map { o in
                    (0..<kernel[a]).filter { k in let i = o * win.strides[a] - win.begin[a] + k * win.dilations[a]; return i >= lo && i < hi }.count
                })
            }
            var factors: [Double] = []
            var position = Array(repeating: 0, count: n)
            for _ in 0..<out.reduce(1, *) {
                let c = (0..<n).reduce(1) { $0 * counts[$1][position[$1]] }
                factors.append(c > 0 ? 1 / Double(c) : 0)
                var a = n - 1
                while a >= 0 { position[a] += 1; if position[a] < out[a] { break }; position[a] = 0; a -= 1 }
            }
            let factor = try ctx.stateTensor("pool_factor", ConstantTensor(shape: [1, 1] + out, values: factors, isInteger: false))
            return try ctx.emit(.mul, [y, factor])
        }
    }
}
