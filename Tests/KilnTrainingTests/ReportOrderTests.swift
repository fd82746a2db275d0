import Foundation
import KilnTraining
import Testing

/// The report's pictures are written before its page (Docs/RELIABILITY.md: "`index.html`
/// last"): a picture that cannot be written leaves no new page pointing at it.
struct ReportOrderTests {
    static func page(_ status: String, files: [(name: String, bytes: [UInt8])]) -> ReportPage {
        ReportPage(title: "t", summary: "s", status: status, refreshSeconds: nil,
                   sections: [ReportSection(title: "pictures", html: "<img src=\"a.svg\">", files: files)])
    }

    @Test("a picture that fails to write leaves the previous index.html, so index.html is written last")
    func indexIsWrittenLast() throws {
        let directory = try ReportSupport.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.page("first", files: [("a.svg", Array("<svg/>".utf8))]).write(to: directory)
        let first = ReportSupport.read(directory + "/index.html")
        #expect(first.contains("first"))
        // "b.svg" is a directory: writing a file over it fails after a.svg and before the page.
        try FileManager.default.createDirectory(atPath: directory + "/b.svg", withIntermediateDirectories: false)
        #expect(throws: (any Error).self) {
            try Self.page("second", files: [("a.svg", Array("<svg>2</svg>".utf8)), ("b.svg", Array("<svg/>".utf8))]).write(to: directory)
        }
        #expect(ReportSupport.read(directory + "/a.svg") == "<svg>2</svg>", "the files before the failure were written")
        #expect(ReportSupport.read(directory + "/index.html") == first, "the page was not rewritten before its pictures")
    }
}
