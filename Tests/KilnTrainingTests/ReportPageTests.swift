import Foundation
import KilnTraining
import Testing

struct ReportPageTests {
    @Test("the page escapes text, refreshes only while running, and writes its files before index.html")
    func page() throws {
        let directory = try ReportSupport.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let section = ReportSection(title: "A <b>section</b>", html: "<img src=\"a.svg\">", files: [("a.svg", Array("<svg xmlns=\"http://www.w3.org/2000/svg\"/>".utf8))])
        var page = ReportPage(title: "g&h", summary: "s", status: "training: epoch 1 of 2 done", refreshSeconds: 5, sections: [section])
        #expect(page.html.contains("<meta http-equiv=\"refresh\" content=\"5\">"))
        #expect(page.html.contains("<title>Kiln: g&amp;h</title>") && page.html.contains("A &lt;b&gt;section&lt;/b&gt;"))
        page.refreshSeconds = nil
        #expect(!page.html.contains("http-equiv"))
        try page.write(to: directory + "/r")
        #expect(FileManager.default.fileExists(atPath: directory + "/r/a.svg"))
        #expect(ReportSupport.read(directory + "/r/index.html") == page.html)
    }
}
