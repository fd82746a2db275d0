import Foundation
import KilnData
import KilnRuntime

/// One part of the report: a heading, an HTML fragment, and the files the fragment refers to
/// (by name, relative to the report directory).
public struct ReportSection {
    public var title: String
    public var html: String
    public var files: [(name: String, bytes: [UInt8])]

    public init(title: String, html: String, files: [(name: String, bytes: [UInt8])] = []) {
        self.title = title
        self.html = html
        self.files = files
    }

    /// Adds a text file (SVG, DOT, metrics).
    mutating func add(_ name: String, text: String) { files.append((name, Array(text.utf8))) }
}

/// The report's `index.html`: a header, the sections in order, and — while training runs — a
/// `<meta http-equiv="refresh">` so an open browser tab follows the run. Every file is written
/// through `AtomicFile` (write to a temporary, then rename), the page last, so a reader never
/// sees a half-written file or a page pointing at a picture that is not there yet.
public struct ReportPage {
    public var title: String
    /// One line under the title (optimiser, batch, backend, …).
    public var summary: String
    /// "training: epoch 2 of 10" or "finished …"; shown in a banner.
    public var status: String
    /// Seconds between reloads while training runs; nil in the final page.
    public var refreshSeconds: Int?
    public var sections: [ReportSection]

    public init(title: String, summary: String, status: String, refreshSeconds: Int?, sections: [ReportSection]) {
        self.title = title
        self.summary = summary
        self.status = status
        self.refreshSeconds = refreshSeconds
        self.sections = sections
    }

    static let style = """
        body{font-family:system-ui,sans-serif;max-width:1180px;margin:24px auto;padding:0 16px;color:#111827}
        h1{margin-bottom:4px}h2{border-bottom:1px solid #e5e7eb;padding-bottom:4px;margin-top:32px}
        .status{padding:8px 12px;border-radius:6px;background:#eff6ff;border:1px solid #bfdbfe;display:inline-block}
        .status.done{background:#f0fdf4;border-color:#bbf7d0}
        .row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
        .tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(96px,1fr));gap:8px}
        figure{margin:0;text-align:center;font-size:12px;border:3px solid transparent;border-radius:6px;padding:2px}
        figure.wrong{border-color:#dc2626;background:#fef2f2}
        figure img{width:84px;height:84px;image-rendering:pixelated}
        .pixelated{image-rendering:pixelated}
        table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #e5e7eb;text-align:right}
        td:first-child,th:first-child{text-align:left}tr.avg td{font-weight:bold;background:#f9fafb}
        .graph{max-height:640px;overflow:auto;border:1px solid #e5e7eb}
        .note{color:#4b5563;font-size:14px}code{background:#f3f4f6;padding:1px 4px;border-radius:3px}
        """

    /// The page's HTML.
    public var html: String {
        var out = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        if let refreshSeconds { out += "<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\">\n" }
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        out += "<title>Kiln: \(SVG.escape(title))</title>\n<style>\n\(Self.style)\n</style></head>\n<body>\n"
        out += "<h1>\(SVG.escape(title))</h1>\n<p>\(SVG.escape(summary))</p>\n"
        out += "<p class=\"status\(refreshSeconds == nil ? " done" : "")\" id=\"status\">\(SVG.escape(status))"
        if let refreshSeconds { out += " — this page reloads every \(refreshSeconds) s while training runs" }
        out += "</p>\n"
        for section in sections {
            out += "<section>\n<h2>\(SVG.escape(section.title))</h2>\n\(section.html)\n</section>\n"
        }
        return out + "</body></html>\n"
    }

    /// Writes every section's files, then `index.html`.
    public func write(to directory: String) throws {
        try AtomicFile.makeDirectory(directory)
        for section in sections {
            for file in section.files { try AtomicFile.write(file.bytes, to: "\(directory)/\(file.name)") }
        }
        try AtomicFile.write(html, to: "\(directory)/index.html")
    }
}
