/// The sliding-window attributes shared by `Conv` and the poolings, resolved for the 2-d case
/// (a 1-d op is imported as 2-d with height 1): strides, dilations and per-side padding, with
/// `auto_pad` and `ceil_mode` turned into explicit padding.
struct WindowAttributes {
    var kernel: [Int]
    var strides: [Int]
    var dilations: [Int]
    var begin: [Int]
    var end: [Int]

    /// Output extent per spatial axis.
    func output(_ spatial: [Int]) -> [Int] {
        (0..<2).map { a in (spatial[a] + begin[a] + end[a] - ((kernel[a] - 1) * dilations[a] + 1)) / strides[a] + 1 }
    }

    var isSymmetric: Bool { begin == end }

    /// The largest stride, dilation, kernel extent or pad accepted (2^24). No real model comes
    /// near it, and it keeps every window computation — `(kernel − 1) · dilation + 1`,
    /// `(out − 1) · stride`, sums of pads — far inside `Int` (hostile models set them to 2^62).
    static let maximumExtent = 1 << 24

    /// Throws unless every entry of the attribute `name` is in `least...maximumExtent`.
    static func check(_ name: String, _ values: [Int], least: Int) throws {
        for v in values where v < least || v > maximumExtent {
            throw ConversionError("\(name) \(values): each entry must be between \(least) and \(maximumExtent)")
        }
    }

    /// Per-side padding of a window over any number of spatial axes: `pads` (NOTSET) or
    /// `auto_pad` (VALID, SAME_UPPER, SAME_LOWER) resolved, then extended at the end where
    /// `ceilMode` lets the last window run past the input (it must start inside the input or its
    /// left padding), as onnxruntime does.
    static func padding(_ ctx: ImportContext, spatial: [Int], kernel: [Int], strides: [Int], dilations: [Int],
                        ceilMode: Bool) throws -> (begin: [Int], end: [Int]) {
        let n = spatial.count
        var begin = Array(repeating: 0, count: n), end = Array(repeating: 0, count: n)
        let autoPad = ctx.attributes.string("auto_pad", "NOTSET")
        switch autoPad {
        case "NOTSET":
            if let pads = try ctx.attributes.ints("pads") {
                guard pads.count == 2 * n, pads.allSatisfy({ $0 >= 0 }) else { throw ConversionError("pads \(pads) needs \(2 * n) non-negative entries") }
                try check("pads", pads, least: 0)
                begin = Array(pads[..<n]); end = Array(pads[n...])
            }
        case "VALID": break
        case "SAME_UPPER", "SAME_LOWER":
            for i in 0..<n {
                let effective = (kernel[i] - 1) * dilations[i] + 1
                let out = (spatial[i] + strides[i] - 1) / strides[i]
                let total = max(0, (out - 1) * strides[i] + effective - spatial[i])
                begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                end[i] = total - begin[i]
            }
        default: throw ConversionError("auto_pad '\(autoPad)' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
        }
        if ceilMode {
            for i in 0..<n {
                let effective = (kernel[i] - 1) * dilations[i] + 1
                let span = spatial[i] + begin[i] + end[i] - effective
                var out = (span + strides[i] - 1) / strides[i] + 1
                if (out - 1) * strides[i] >= spatial[i] + begin[i] { out -= 1 }
                end[i] = max(end[i], (out - 1) * strides[i] + effective - spatial[i] - begin[i])
            }
        }
        return (begin, end)
    }

    /// Reads the attributes for an input with spatial extents `spatial` (1 or 2 axes), given the
    /// kernel extents, and returns them widened to 2 axes.
    init(_ ctx: ImportContext, spatial: [Int], kernel: [Int], ceilMode: Bool = false) throws {
        let n = spatial.count
        guard n == 1 || n == 2 else { throw ConversionError("only 1-d and 2-d windows are supported, this one has \(n) spatial axes") }
        guard kernel.count == n else { throw ConversionError("kernel_shape \(kernel) does not match the \(n) spatial axes") }
        let a = ctx.attributes
        let strides = try a.ints("strides") ?? Array(repeating: 1, count: n)
        let dilations = try a.ints("dilations") ?? Array(repeating: 1, count: n)
        guard strides.count == n, dilations.count == n, (strides + dilations + kernel).allSatisfy({ $0 > 0 }) else {
            throw ConversionError("strides \(strides), dilations \(dilations) and kernel_shape \(kernel) need \(n) positive entries")
        }
        try Self.check("strides", strides, least: 1)
        try Self.check("dilations", dilations, least: 1)
        try Self.check("kernel_shape", kernel, least: 1)
        let (begin, end) = try Self.padding(ctx, spatial: spatial, kernel: kernel, strides: strides, dilations: dilations, ceilMode: ceilMode)
        func widen(_ v: [Int], _ fill: Int) -> [Int] { n == 2 ? v : [fill] + v }
        self.kernel = widen(kernel, 1)
        self.strides = widen(strides, 1)
        self.dilations = widen(dilations, 1)
        self.begin = widen(begin, 0)
        self.end = widen(end, 0)
        for i in 0..<2 where self.output(spatial.count == 2 ? spatial : [1] + spatial)[i] < 1 {
            throw ConversionError("the window \(self.kernel) does not fit the padded input \(spatial)")
        }
    }
}
