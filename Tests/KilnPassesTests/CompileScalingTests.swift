import Foundation
import KilnIR
import KilnPasses
import Testing

/// Compile time must grow near-linearly with graph size (Docs/BENCHMARKS.md, "Compile time").
/// These are canaries, not timings: before the passes were made near-linear, fusing the chain's
/// gradient alone took hours (258 s at a quarter of this size) and planning its memory took a
/// minute in a debug build; now the whole test takes about ten seconds in a debug build on a
/// shared 2-core machine. Performance itself is measured by `kiln compile-time`, not asserted.
struct CompileScalingTests {
    /// Simplify, fuse and plan `graph`, and verify the result (once: the verifier is linear too,
    /// and running it after every pass would double the test's time in a debug build).
    private func optimize(_ graph: Graph) throws -> Graph {
        var manager = PassManager(OptimizingPipeline.passes, verifyEach: false)
        let optimized = try manager.run(graph)
        try Verifier().verify(optimized)
        return optimized
    }

    @Test("a 20,000-node elementwise chain and its gradient check, simplify, fuse and plan")
    func chain() throws {
        let text = BigGraphs.chain(nodes: 20_000)
        let parsed = try Parser.parse(text)
        try Verifier().verify(parsed)
        let forward = try inferTypes(parsed)
        #expect(forward.nodes.count >= 20_000)
        let fused = try optimize(forward)
        // The whole chain feeds one reduction: kernels of at most Fusion.maxKernelOps ops each.
        #expect(fused.nodes.count <= forward.nodes.count / 16, "\(fused.nodes.count) kernels")
        #expect(fused.nodes.allSatisfy { ($0.region?.count ?? 1) <= Fusion.maxKernelOps })
        #expect(fused.memoryPlan != nil)

        let gradient = try Differentiation(loss: "loss").run(forward)
        try Verifier().verify(gradient)
        let optimized = try optimize(gradient)
        #expect(optimized.outputs == ["loss", "d_w", "d_b"])
        #expect(optimized.memoryPlan != nil)
    }
}
