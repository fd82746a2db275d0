import Foundation

/// A confusion matrix as an SVG heat map: rows are true classes, columns predictions, each
/// cell coloured by the share of its row (so a rare class is as readable as a common one)
/// and labelled with its count; class names on both axes.
public struct ConfusionHeatMap {
    public var confusion: [[Int]]
    public var classNames: [String]
    public var title = "confusion matrix"

    public init(confusion: [[Int]], classNames: [String]) {
        self.confusion = confusion
        self.classNames = classNames
    }

    /// The cell colour for a row share in [0, 1]: white to dark blue, red-tinted off the
    /// diagonal so mistakes stand out.
    static func colour(_ share: Double, diagonal: Bool) -> String {
        let t = max(0, min(1, share.isFinite ? share : 0))
        let (r, g, b) = diagonal ? (8.0, 81.0, 156.0) : (203.0, 24.0, 29.0)
        func mix(_ c: Double) -> Int { Int((255 - (255 - c) * t).rounded()) }
        return String(format: "#%02x%02x%02x", mix(r), mix(g), mix(b))
    }

    public var svg: String {
        let n = confusion.count
        let cell = n <= 12 ? 40.0 : max(8, 480 / Double(max(n, 1)))
        let nameWidth = 8 + 7.0 * Double(classNames.prefix(n).map(\.count).max() ?? 2)
        let left = nameWidth + 24, top = 44 + nameWidth
        let width = Int(left + cell * Double(n) + 16), height = Int(top + cell * Double(n) + 30)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"8\" y=\"20\" font-size=\"15\" font-weight=\"bold\">\(SVG.escape(title))</text>\n"
        out += "<text x=\"\(SVG.f(left + cell * Double(n) / 2))\" y=\"38\" text-anchor=\"middle\">predicted</text>\n"
        out += "<text transform=\"translate(14 \(SVG.f(top + cell * Double(n) / 2))) rotate(-90)\" text-anchor=\"middle\">true</text>\n"
        for c in 0..<n {
            let name = SVG.escape(c < classNames.count ? classNames[c] : "\(c)")
            let mid = Double(c) * cell + cell / 2
            out += "<text x=\"\(SVG.f(left - 6))\" y=\"\(SVG.f(top + mid + 4))\" text-anchor=\"end\">\(name)</text>"
            out += "<text transform=\"translate(\(SVG.f(left + mid + 4)) \(SVG.f(top - 6))) rotate(-90)\">\(name)</text>\n"
        }
        for (t, row) in confusion.enumerated() {
            let total = Double(max(row.reduce(0, +), 1))
            for (p, count) in row.enumerated() {
                let share = Double(count) / total
                let x = left + Double(p) * cell, y = top + Double(t) * cell
                out += "<rect x=\"\(SVG.f(x))\" y=\"\(SVG.f(y))\" width=\"\(SVG.f(cell))\" height=\"\(SVG.f(cell))\" fill=\"\(Self.colour(share, diagonal: t == p))\" stroke=\"#f3f4f6\">"
                out += "<title>true \(SVG.escape(classNames.indices.contains(t) ? classNames[t] : "\(t)")), predicted \(SVG.escape(classNames.indices.contains(p) ? classNames[p] : "\(p)")): \(count)</title></rect>"
                if cell >= 24 {
                    let ink = share > 0.55 ? "white" : "#111827"
                    out += "<text x=\"\(SVG.f(x + cell / 2))\" y=\"\(SVG.f(y + cell / 2 + 4))\" text-anchor=\"middle\" font-size=\"11\" fill=\"\(ink)\">\(count)</text>"
                }
            }
            out += "\n"
        }
        return out + "</svg>\n"
    }
}
