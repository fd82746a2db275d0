import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// Simplify on gradient graphs where an output is renamed onto a temporary that other
/// substitutions already point to (issue 12: `d_b uses %6 before it is defined`).
struct SimplifyTests {
    static let sharedGradient = """
        graph ab {
          param a: f32[1] = ones
          param b: f32[1] = ones
          v = add(a, b)
          loss = reduce_sum(square(v), axes=[0])
          output loss
        }
        """

    private func gradientGraph() throws -> Graph {
        try Differentiation(loss: "loss").run(try inferTypes(try Parser.parse(Self.sharedGradient)))
    }

    @Test("two outputs resolving to one temporary stay defined before use")
    func renamedOutputKeepsLaterReaders() throws {
        let simplified = try Simplify().run(try gradientGraph())
        try Verifier().verify(simplified)
        var state = initialState(for: simplified, seed: 0)
        let outputs = try Interpreter(graph: simplified).run(inputs: [:], state: &state, step: 0)
        #expect(outputs["d_a"]?.floats == [4])
        #expect(outputs["d_b"]?.floats == [4])
    }

    @Test("the default pipeline (simplify, fuse, plan-memory) schedules the gradient graph")
    func fullPipeline() throws {
        var manager = PassManager(OptimizingPipeline.passes)
        let optimized = try manager.run(try gradientGraph())
        var state = initialState(for: optimized, seed: 0)
        let outputs = try Interpreter(graph: optimized, usePlan: true).run(inputs: [:], state: &state, step: 0)
        #expect(outputs["loss"]?.floats == [4])
        #expect(outputs["d_a"]?.floats == [4])
        #expect(outputs["d_b"]?.floats == [4])
    }
}

extension SimplifyTests {
    /// Found by the differential tester (seed 38): an output that simplifies to a fused kernel's
    /// result must not rename the kernel (its body names the result too).
    @Test("an output equal to a fused kernel's result leaves the kernel's names alone")
    func outputOfFusedKernel() throws {
        let text = """
            graph g {
              input x: f32[4]
              f_prod: f32[4] = fused_add_relu(x) {
                f_sum: f32[4] = add(x, x)
                f_prod: f32[4] = relu(f_sum)
              }
              y = select(f_prod, f_prod, f_prod)
              output y
            }
            """
        var manager = PassManager([Simplify()])
        let graph = try manager.run(try inferTypes(try Parser.parse(text)))
        try Verifier().verify(graph)
        #expect(graph.outputs == ["y"])
    }
}
