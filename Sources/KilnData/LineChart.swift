import Foundation

/// An SVG line chart with labelled axes, ticks, a legend and an optional vertical marker:
/// training curves over epochs (integer ticks) and ROC curves (a fixed [0, 1] square).
/// Pure SVG text — no fonts or images to load — so it renders the same in every browser.
public struct LineChart {
    /// One curve: a name for the legend and its (x, y) points; non-finite points are skipped.
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Drawn dashed (reference lines such as ROC's chance diagonal).
        public var dashed: Bool

        public init(_ name: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.points = points
            self.dashed = dashed
        }

        /// Values per epoch, epochs counted from `firstEpoch`.
        public init(_ name: String, perEpoch values: [Double], firstEpoch: Int = 1) {
            self.init(name, points: values.enumerated().map { (Double(firstEpoch + $0.offset), $0.element) })
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Fixed axis ranges; when nil, the data's range (y padded by 5 %).
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    /// Ticks at whole numbers only (epochs).
    public var integerX = false
    /// A vertical line at this x with a label (the epoch early stopping restored).
    public var marker: (x: Double, label: String)?
    public var width = 560
    public var height = 320

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// Distinct, colour-blind-friendly line colours (Okabe–Ito, then Tableau), cycled.
    public static let colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                                 "#7F3C8D", "#11A579", "#3969AC", "#F2B701", "#E73F74", "#80BA5A"]

    /// The chart as a standalone SVG document.
    public var svg: String {
        let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xs = xRange ?? Self.range(finite.map(\.x), pad: 0)
        let ys = yRange ?? Self.range(finite.map(\.y), pad: 0.05)
        // A few series: legend in a row under the title, so narrow charts keep their plot
        // width; many (ROC's one per class): a column on the right.
        let legendOnTop = series.count <= 4
        let legendWidth = legendOnTop ? 0 : min(190.0, 24 + 7.0 * Double(series.map(\.name.count).max() ?? 0))
        let (left, top) = (64.0, legendOnTop ? 56.0 : 36.0)
        let right = Double(width) - 16 - legendWidth, bottom = Double(height) - 46
        func px(_ x: Double) -> Double { left + (right - left) * (x - xs.lowerBound) / (xs.upperBound - xs.lowerBound) }
        func py(_ y: Double) -> Double { bottom - (bottom - top) * (y - ys.lowerBound) / (ys.upperBound - ys.lowerBound) }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(left)\" y=\"22\" font-size=\"15\" font-weight=\"bold\">\(SVG.escape(title))</text>\n"
        // Grid and ticks.
        for v in Self.ticks(ys, integer: false) {
            let y = SVG.f(py(v))
            out += "<line x1=\"\(SVG.f(left))\" y1=\"\(y)\" x2=\"\(SVG.f(right))\" y2=\"\(y)\" stroke=\"#e5e7eb\"/>"
            out += "<text x=\"\(SVG.f(left - 6))\" y=\"\(SVG.f(py(v) + 4))\" text-anchor=\"end\">\(Self.label(v))</text>\n"
        }
        for v in Self.ticks(xs, integer: integerX) {
            let x = SVG.f(px(v))
            out += "<line x1=\"\(x)\" y1=\"\(SVG.f(bottom))\" x2=\"\(x)\" y2=\"\(SVG.f(bottom + 5))\" stroke=\"#6b7280\"/>"
            out += "<text x=\"\(x)\" y=\"\(SVG.f(bottom + 18))\" text-anchor=\"middle\">\(Self.label(v))</text>\n"
        }
        out += "<polyline fill=\"none\" stroke=\"#6b7280\" points=\"\(SVG.f(left)),\(SVG.f(top)) \(SVG.f(left)),\(SVG.f(bottom)) \(SVG.f(right)),\(SVG.f(bottom))\"/>\n"
        out += "<text x=\"\(SVG.f((left + right) / 2))\" y=\"\(height - 8)\" text-anchor=\"middle\">\(SVG.escape(xLabel))</text>\n"
        out += "<text transform=\"translate(16 \(SVG.f((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(SVG.escape(yLabel))</text>\n"
        if let marker, xs.contains(marker.x) {
            let x = SVG.f(px(marker.x))
            out += "<line x1=\"\(x)\" y1=\"\(SVG.f(top))\" x2=\"\(x)\" y2=\"\(SVG.f(bottom))\" stroke=\"#111827\" stroke-dasharray=\"4 3\"/>"
            // Label on the side with room: left of the line in the right half of the plot.
            let leftSide = px(marker.x) > (left + right) / 2
            out += "<text x=\"\(SVG.f(px(marker.x) + (leftSide ? -4 : 4)))\" y=\"\(SVG.f(top + 12))\" font-size=\"11\"\(leftSide ? " text-anchor=\"end\"" : "")>\(SVG.escape(marker.label))</text>\n"
        }
        var legendX = left
        for (k, s) in series.enumerated() {
            let colour = s.dashed ? "#9ca3af" : Self.colours[k % Self.colours.count]
            let points = s.points.filter { $0.x.isFinite && $0.y.isFinite }
            let dash = s.dashed ? " stroke-dasharray=\"5 4\"" : ""
            if points.count > 1 {
                let text = points.map { "\(SVG.f(px($0.x))),\(SVG.f(py($0.y)))" }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash) points=\"\(text)\"/>\n"
            }
            // Dots at epochs (few points), so a one-epoch run still shows its value.
            if points.count <= 40 && !s.dashed {
                for p in points { out += "<circle cx=\"\(SVG.f(px(p.x)))\" cy=\"\(SVG.f(py(p.y)))\" r=\"3\" fill=\"\(colour)\"/>" }
                out += "\n"
            }
            let (lx, ly) = legendOnTop ? (legendX, 40.0) : (right + 14, top + 4 + 18 * Double(k))
            out += "<line x1=\"\(SVG.f(lx))\" y1=\"\(SVG.f(ly))\" x2=\"\(SVG.f(lx + 16))\" y2=\"\(SVG.f(ly))\" stroke=\"\(colour)\" stroke-width=\"3\"\(dash)/>"
            out += "<text x=\"\(SVG.f(lx + 21))\" y=\"\(SVG.f(ly + 4))\">\(SVG.escape(s.name))</text>\n"
            legendX += 21 + 7 * Double(s.name.count) + 16
        }
        return out + "</svg>\n"
    }

    static func range(_ values: [Double], pad: Double) -> ClosedRange<Double> {
        guard let lo = values.min(), let hi = values.max() else { return 0...1 }
        // A constant series (a learning rate without schedule) sits mid-axis on an axis from 0,
        // scaled to its magnitude rather than ±0.5 around it.
        if hi - lo <= 1e-9 * max(abs(lo), abs(hi)) || hi == lo {
            if lo > 0 { return 0...(2 * hi) }
            if lo < 0 { return (2 * lo)...0 }
            return -1...1
        }
        let margin = (hi - lo) * pad
        return (lo - margin)...(hi + margin)
    }

    /// About five round tick values inside `range` (1, 2 or 5 times a power of ten apart);
    /// with `integer`, whole numbers only, every one when there are few.
    static func ticks(_ range: ClosedRange<Double>, integer: Bool) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [] }
        let rough = span / 5
        let power = pow(10, floor(log10(rough)))
        var step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough * (1 - 1e-9) } ?? 10 * power
        if integer { step = max(1, step.rounded()) }
        var values: [Double] = []
        var v = (range.lowerBound / step - 1e-9).rounded(.up) * step
        while v <= range.upperBound + step * 1e-9 && values.count < 50 {
            values.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return values
    }

    static func label(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e6 ? String(Int(v)) : String(format: "%.3g", v)
    }
}

/// Helpers shared by the SVG writers.
public enum SVG {
    /// Text safe inside SVG/HTML elements and attributes.
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A coordinate with one decimal (short files, no locale).
    static func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
