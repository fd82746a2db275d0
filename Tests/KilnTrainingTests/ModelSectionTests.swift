import Foundation
import KilnIR
import KilnTraining
import Testing

struct ModelSectionTests {
    @Test("without Graphviz the page says how to install it")
    func noGraphviz() throws {
        guard case .unavailable(let why) = Graphviz.svg("digraph g { a -> b }", dot: nil) else {
            Issue.record("rendered without dot")
            return
        }
        #expect(why.contains("apt-get install graphviz"))
    }

    @Test("with Graphviz the training graph becomes SVG, fused kernels as clusters", .enabled(if: prerequisite(Graphviz.executable != nil), "needs Graphviz's dot (make test installs it)"))
    func rendered() throws {
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.classifierText), optimizer: try .parse("adam:lr=0.05"))
        let model = ModelSection(trainer: trainer)
        #expect(model.dot.contains("subgraph cluster_"))
        guard case .svg(let svg) = model.rendering else {
            Issue.record("dot did not render: \(model.rendering)")
            return
        }
        #expect(svg.contains("<svg"))
    }

    @Test("the JIT profiles first-epoch steps for the kernel table")
    func profile() throws {
        let directory = try ReportSupport.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let trainer = try Trainer(graph: try Parser.parse(ReportSupport.classifierText), optimizer: try .parse("adam:lr=0.05"), backend: .jit)
        let writer = ReportWriter(directory: directory, test: try ReportSupport.data(16))
        writer.renderGraph = false
        writer.announces = false
        writer.profileSteps = 3
        try trainer.fit(try ReportSupport.data(80), epochs: 1, callbacks: [writer], progress: .silent)
        let html = ReportSupport.read(directory + "/index.html")
        #expect(html.contains("JIT, mean over 3 training steps"))
        #expect(html.contains("<td><code>"))
    }
}
