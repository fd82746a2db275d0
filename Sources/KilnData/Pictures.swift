import CZlib
import Foundation
import KilnIR

/// Small, dependency-free writers for the training report: PNG images (zlib-compressed,
/// CRC-checked chunks) and SVG line charts.
public enum Pictures {
    /// An 8-bit greyscale PNG of `width`×`height` pixels with values in [0, 1].
    public static func png(width: Int, height: Int, pixels: [Float]) throws -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity((width + 1) * height)
        for y in 0..<height {
            raw.append(0)  // filter: none
            for x in 0..<width { raw.append(UInt8(Swift.max(0, Swift.min(255, (pixels[y * width + x] * 255).rounded())))) }
        }
        var compressedLength = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        guard compress2(&compressed, &compressedLength, raw, uLong(raw.count), 9) == Z_OK else {
            throw Diagnostic("png: zlib could not compress the image")
        }
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func chunk(_ type: String, _ data: [UInt8]) {
            let body = Array(type.utf8) + data
            bytes += bigEndian(UInt32(data.count)) + body
            bytes += bigEndian(UInt32(body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }))
        }
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 0, 0, 0, 0])
        chunk("IDAT", Array(compressed.prefix(Int(compressedLength))))
        chunk("IEND", [])
        return bytes
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    /// A grid of square greyscale images (`side`×`side` each), `columns` wide, 2-pixel gaps.
    public static func grid(_ images: [[Float]], side: Int, columns: Int) throws -> [UInt8] {
        let rows = (images.count + columns - 1) / Swift.max(columns, 1)
        let width = columns * (side + 2) + 2, height = rows * (side + 2) + 2
        var canvas = [Float](repeating: 0.3, count: width * height)
        for (k, image) in images.enumerated() {
            let ox = 2 + (k % columns) * (side + 2), oy = 2 + (k / columns) * (side + 2)
            for y in 0..<side { for x in 0..<side where y * side + x < image.count { canvas[(oy + y) * width + ox + x] = image[y * side + x] } }
        }
        return try png(width: width, height: height, pixels: canvas)
    }

    /// An SVG line chart of named series over epochs (1, 2, …), each scaled to the shared range.
    public static func lineChart(title: String, series: [(String, [Double])], width: Int = 640, height: Int = 360) -> String {
        let values = series.flatMap(\.1).filter(\.isFinite)
        let lo = values.min() ?? 0, hi = Swift.max(values.max() ?? 1, lo + 1e-9)
        let count = Swift.max(series.map(\.1.count).max() ?? 1, 2)
        let (left, right, top, bottom) = (60.0, Double(width) - 20, 40.0, Double(height) - 40)
        func x(_ i: Int) -> Double { left + (right - left) * Double(i) / Double(count - 1) }
        func y(_ v: Double) -> Double { bottom - (bottom - top) * (v - lo) / (hi - lo) }
        let colours = ["#2563eb", "#dc2626", "#16a34a", "#9333ea"]
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"\(left)\" y=\"24\" font-size=\"15\">\(title)</text>\n"
        svg += "<line x1=\"\(left)\" y1=\"\(bottom)\" x2=\"\(right)\" y2=\"\(bottom)\" stroke=\"#888\"/><line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(bottom)\" stroke=\"#888\"/>\n"
        for k in 0...4 {
            let v = lo + (hi - lo) * Double(k) / 4
            svg += "<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(String(format: "%.3g", v))</text>\n"
        }
        svg += "<text x=\"\((left + right) / 2)\" y=\"\(Double(height) - 10)\" text-anchor=\"middle\">epoch</text>\n"
        for (s, (name, data)) in series.enumerated() {
            let points = data.enumerated().filter { $0.element.isFinite }.map { String(format: "%.1f,%.1f", x($0.offset), y($0.element)) }
            let colour = colours[s % colours.count]
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>\n"
            svg += "<text x=\"\(right - 150)\" y=\"\(top + 16 * Double(s))\" fill=\"\(colour)\">\(name)</text>\n"
        }
        return svg + "</svg>\n"
    }
}

extension Pictures {
    /// A PNG as a `data:` URI, for images embedded in a page (one file to copy, nothing to
    /// go missing).
    public static func dataURI(png bytes: [UInt8]) -> String {
        "data:image/png;base64," + Data(bytes).base64EncodedString()
    }

    /// Rescales values to [0, 1] by their own minimum and maximum (filters, weights: their
    /// sign and scale are arbitrary, their pattern is what matters); a constant image is grey.
    public static func normalized(_ values: [Float]) -> [Float] {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max(), hi > lo else { return values.map { _ in 0.5 } }
        return values.map { $0.isFinite ? ($0 - lo) / (hi - lo) : 0.5 }
    }
}
