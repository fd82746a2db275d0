import Foundation
import KilnIR
import KilnPasses
import Testing

/// The optimising pipeline is named once (`OptimizingPipeline`), and every caller asks for it.
struct OptimizingPipelineTests {
    @Test("the pipeline is simplify, fuse, plan-memory, and its spec names the same passes")
    func passes() throws {
        #expect(OptimizingPipeline.passes.map(\.name) == ["simplify", "fuse", "plan-memory"])
        #expect(try PassRegistry.pipeline(OptimizingPipeline.spec).map(\.name) == OptimizingPipeline.passes.map(\.name))
    }

    @Test("no source spells the pipeline out again")
    func spelledOnce() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        #expect(files.count > 100, "found \(files.count) Swift sources under \(sources.path)")
        let spelled = try files.filter { url in
            let text = try String(contentsOf: url, encoding: .utf8)
            return text.contains("Simplify(), Fusion(), MemoryPlanner()") || text.contains("MemoryPlanner().run(try Fusion().run(")
        }.map(\.lastPathComponent)
        #expect(spelled == ["OptimizingPipeline.swift"])
    }
}
