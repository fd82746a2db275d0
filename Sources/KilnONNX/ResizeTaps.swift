import Foundation

/// The interpolation along one axis of an ONNX `Resize`, as taps: output position `o` is
/// `Σ_k weights[o][k] · x[indices[o][k]]`, or `extrapolation` where `outside[o]`. Resize is
/// separable, so a 4-d resize is this table applied once per resized axis. The arithmetic
/// follows ONNX's reference implementation (onnx/reference/ops/op_resize.py) step by step:
/// the source coordinate of each mode, the tap window chosen around it (ties to the smaller
/// index), edge clamping, `exclude_outside`, and the antialiasing filters of opset 18.
struct ResizeTaps {
    var indices: [[Int]]
    var weights: [[Double]]
    var outside: [Bool]

    enum Mode: String { case nearest, linear, cubic }

    struct Options {
        var mode: Mode
        var coordinates: String
        var nearest: String
        var cubicA: Double
        var excludeOutside: Bool
        var antialias: Bool
    }

    static let coordinateModes = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"]
    static let nearestModes = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]

    /// The taps resizing an axis of `input` elements to `output` at `scale` (roi: this axis's
    /// [start, end] for tf_crop_and_resize).
    static func make(input: Int, output: Int, scale: Double, roi: (Double, Double)?, _ o: Options) throws -> ResizeTaps {
        let outputWidth = scale * Double(input)
        var taps = ResizeTaps(indices: [], weights: [], outside: [])
        for y in 0..<output {
            let yd = Double(y)
            var x: Double
            var outside = false
            switch o.coordinates {
            case "align_corners": x = outputWidth == 1 ? 0 : yd * Double(input - 1) / (outputWidth - 1)
            case "asymmetric": x = yd / scale
            case "tf_crop_and_resize":
                guard let (start, end) = roi else { throw ConversionError("tf_crop_and_resize needs roi") }
                x = outputWidth == 1 ? (end - start) * Double(input - 1) / 2 : yd * (end - start) * Double(input - 1) / (outputWidth - 1)
                x += start * Double(input - 1)
                outside = x < 0 || x > Double(input - 1)
            case "pytorch_half_pixel": x = outputWidth == 1 ? -0.5 : (yd + 0.5) / scale - 0.5
            case "half_pixel": x = (yd + 0.5) / scale - 0.5
            case "half_pixel_symmetric":
                let adjustment = Double(output) / outputWidth, center = Double(input) / 2
                x = center * (1 - adjustment) + (yd + 0.5) / scale - 0.5
            default: throw ConversionError("coordinate_transformation_mode '\(o.coordinates)' is not supported")
            }
            // ratio in (0, 1]: the pixel left of x is preferred, so an integer x has ratio 1.
            let ratio = x == x.rounded(.down) ? 1 : x - x.rounded(.down)
            var coefficients = try Self.coefficients(ratio, scale: scale, o)
            let n = coefficients.count
            let padWidth = (n + 1) / 2
            let padded = x + Double(padWidth), p = padded.rounded(.down), frac = padded - p
            let offset: Int
            if n % 2 == 0 { offset = frac == 0 ? -(n / 2) : -(n / 2) + 1 } else { offset = frac <= 0.5 ? -((n - 1) / 2) : -((n - 1) / 2) + 1 }
            guard p.isFinite, abs(p) < 1e12 else { throw ConversionError("resize coordinate \(x) is out of range") }
            let start = Int(p) + offset
            var index = (0..<n).map { start + $0 - padWidth }
            if o.excludeOutside {
                for k in 0..<n where index[k] < 0 || index[k] >= input { coefficients[k] = 0 }
                let sum = coefficients.reduce(0, +)
                coefficients = coefficients.map { $0 / (sum == 0 ? 1 : sum) }
            }
            index = index.map { min(max($0, 0), input - 1) }
            taps.indices.append(index)
            taps.weights.append(coefficients)
            taps.outside.append(outside)
        }
        return taps
    }

    /// The filter's weights at `ratio` (ONNX's `_nearest_coeffs`, `_linear_coeffs`,
    /// `_cubic_coeffs` and their antialiased forms).
    static func coefficients(_ ratio: Double, scale: Double, _ o: Options) throws -> [Double] {
        switch o.mode {
        case .nearest:
            if ratio == 1 { return [0, 1] }
            switch o.nearest {
            case "round_prefer_floor": return ratio <= 0.5 ? [1, 0] : [0, 1]
            case "round_prefer_ceil": return ratio < 0.5 ? [1, 0] : [0, 1]
            case "floor": return [1, 0]
            case "ceil": return [0, 1]
            default: throw ConversionError("nearest_mode '\(o.nearest)' is not supported")
            }
        case .linear:
            guard o.antialias else { return [1 - ratio, ratio] }
            let s = min(scale, 1)
            let start = Int((-1 / s).rounded(.down)) + 1, footprint = 2 - 2 * start
            let c = (start..<(start + footprint)).map { Swift.min(Swift.max(1 - abs((Double($0) - ratio) * s), 0), 1) }
            let sum = c.reduce(0, +)
            return c.map { $0 / sum }
        case .cubic:
            let a = o.cubicA
            guard o.antialias else {
                let r = ratio, q = 1 - ratio
                return [((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
                        ((a + 2) * r - (a + 3)) * r * r + 1,
                        ((a + 2) * q - (a + 3)) * q * q + 1,
                        ((a * (q + 1) - 5 * a) * (q + 1) + 8 * a) * (q + 1) - 4 * a]
            }
            let s = min(scale, 1)
            func kernel(_ v: Double) -> Double {
                let x = abs(v), x2 = x * x, x3 = x2 * x
                if x <= 1 { return (a + 2) * x3 - (a + 3) * x2 + 1 }
                if x < 2 { return a * x3 - 5 * a * x2 + 8 * a * x - 4 * a }
                return 0
            }
            let iStart = Int((-2 / s).rounded(.down)) + 1, iEnd = 2 - iStart
            let c = (iStart..<iEnd).map { kernel(s * (Double($0) - ratio)) }
            let sum = c.reduce(0, +)
            return c.map { $0 / sum }
        }
    }
}
