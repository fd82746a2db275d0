import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnJIT

/// Claims Docs/ARCHITECTURE.md makes about the JIT: compiled modules are cached per process
/// by the graph's text; an unrolled LSTM's Adam step's hundreds of kernel calls share a few
/// dozen functions.
struct JITClaimsTests {
    @Test("a graph compiled once is not compiled again in the same process; another graph is")
    func moduleCache() throws {
        // A name no other test uses, so the first construction really compiles.
        let name = "cache_\(UInt32(truncatingIfNeeded: KilnRandom.hash(UUID().uuidString)))"
        let text = "graph \(name) {\n input x: f32[4, 8]\n y = tanh(mul(x, 3.0))\n output y\n}\n"
        let graph = try inferTypes(try Parser.parse(text))
        let first = try JITBackend(graph: graph)
        #expect(first.compileSeconds > 0, "the first construction compiles")
        let second = try JITBackend(graph: graph)
        #expect(second.compileSeconds == 0, "the second takes the cached module")
        #expect(second.ir == first.ir)
        let other = try inferTypes(try Parser.parse(text.replacingOccurrences(of: "3.0", with: "5.0")))
        #expect(try JITBackend(graph: other).compileSeconds > 0, "a different graph is compiled")
        // The cached module computes what the first did.
        let x = Tensor([4, 8], floats: (0..<32).map { Float($0) / 32 - 0.5 })
        var s1: [String: Tensor] = [:], s2: [String: Tensor] = [:]
        #expect(try first.run(inputs: ["x": x], state: &s1, step: 0)["y"]?.floats == second.run(inputs: ["x": x], state: &s2, step: 0)["y"]?.floats)
    }

    @Test("the LSTM's Adam step: hundreds of kernel calls share a few dozen functions (Docs/ARCHITECTURE.md)")
    func lstmKernelSharing() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("Graphs/lstm.kiln"), encoding: .utf8)
        let step = try TrainingStep(loss: "loss", optimizer: Optimizer(.adam)).run(try inferTypes(try Parser.parse(text, file: "lstm.kiln")))
        var manager = PassManager(OptimizingPipeline.passes)
        var compiler = StepCompiler(graph: try manager.run(step), prefix: "lstm")
        _ = try compiler.compile()
        let (calls, functions) = (compiler.calls.count, compiler.functions.count)
        print("lstm adam step: \(calls) calls, \(functions) functions")
        // Measured 2026-12-06: 605 calls, 71 functions; 743 and 77 with the schedule layer's
        // generated GEMM; 411 and 69 with multi-output fusion (each step's cell is one kernel);
        // 301 and 69 with concat kernels (each backward step's gate gradients are one); 327
        // and 76, then 49 once constant offsets moved into the calls (`BaseOffsets`: the 28
        // slices x[:, t, :] had been 28 functions).
        // The count of calls depends on fusion and the code generator's schedule. Without
        // sharing there would be one function per call.
        #expect((250...900).contains(calls), "\(calls) calls")
        #expect((30...60).contains(functions), "\(functions) functions")
        #expect(functions * 4 <= calls, "kernels equal up to names must share a function")
    }
}
