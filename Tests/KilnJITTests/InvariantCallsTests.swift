import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnJIT

/// Calls that compute from params alone (a Winograd weight transform): marked in the step
/// program, given scratch no other node shares, and skipped only while the params they read
/// are the same storage — a new param tensor, or a training step's update, runs them again.
struct InvariantCallsTests {
    static let conv = """
        graph w {
          input  x: f32[1, 16, 12, 12]
          param  k: f32[16, 16, 3, 3] = he_normal
          param  k2: f32[16, 16, 3, 3] = he_normal
          y = relu(conv2d(x, k, padding=[1, 1]))
          z = conv2d(y, k2, padding=[1, 1])
          output z
        }
        """

    static func graph(_ text: String = conv) throws -> Graph {
        var manager = PassManager(OptimizingPipeline.passes)
        return try manager.run(try inferTypes(try Parser.parse(text)))
    }

    static func tensor(_ shape: Shape, seed: Int) -> Tensor {
        Tensor(shape, floats: (0..<shape.elementCount).map { Float(($0 &* 7919 &+ seed &* 104_729) % 201) / 100 - 1 })
    }

    @Test("weight transforms are invariant calls; the calls that read the input are not")
    func marked() throws {
        var compiler = StepCompiler(graph: try Self.graph(), prefix: "golden", target: .avx2)
        _ = try compiler.compile()
        let invariant = compiler.calls.filter(\.invariant).map(\.function)
        #expect(invariant.count == 2 && invariant.allSatisfy { $0.hasSuffix("_weights") }, "\(compiler.calls.map(\.function))")
        #expect(compiler.stepProgram.contains("_weights(") && compiler.stepProgram.contains(" invariant\n"))
        // Their scratch is persistent, and no buffer of the region overlaps another it could meet.
        let persistent = compiler.scratch.filter(\.persistent)
        #expect(persistent.count == 2)
        let region = try ScratchRegion(compiler.scratch)
        let spans = zip(compiler.scratch, region.offsets).map { ($0, $1, $1 + 4 * $0.count) }
        for (a, start, end) in spans where a.persistent {
            for (b, s, e) in spans where b.slot != a.slot {
                #expect(end <= s || e <= start, "persistent scratch \(a.slot) overlaps \(b.slot)")
            }
        }
    }

    @Test("skipped while the params are the same storage, run again for a new param, equal to the interpreter throughout")
    func skippedWhileUnchanged() throws {
        let graph = try Self.graph()
        let jit = try JITBackend(graph: graph)
        jit.reusesParamTransforms = true
        let interpreter = try Interpreter(graph: graph, usePlan: true)
        var state = initialState(for: graph, seed: 3)
        let x = Self.tensor([1, 16, 12, 12], seed: 1)
        func check(_ label: String) throws {
            var s1 = state
            let want = try interpreter.run(inputs: ["x": x], state: &s1, step: 0)["z"]?.floats ?? []
            let got = try jit.run(inputs: ["x": x], state: &state, step: 0)["z"]?.floats ?? []
            #expect(got.count == want.count && !want.isEmpty)
            let worst = zip(got, want).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
            #expect(worst < 1e-4, "\(label): largest difference \(worst)")
        }
        try check("first step")
        #expect(jit.skippedInvariantCalls == 0)
        try check("second step")
        #expect(jit.skippedInvariantCalls == 2, "the same params: both transforms skipped")
        state["k2"] = Self.tensor([16, 16, 3, 3], seed: 9)
        try check("a new k2")
        #expect(jit.skippedInvariantCalls == 2, "a new param runs the transforms again")
        try check("the new k2 again")
        #expect(jit.skippedInvariantCalls == 4)
        // Off (the default): never skipped.
        let plain = try JITBackend(graph: graph)
        var s = state
        for _ in 0..<2 { _ = try plain.run(inputs: ["x": x], state: &s, step: 0) }
        #expect(plain.skippedInvariantCalls == 0)
    }

    @Test("a training step's updates run the transforms every step; params track the interpreter's")
    func training() throws {
        let text = Self.conv.replacingOccurrences(of: "  output z\n", with: "  loss = reduce_mean(square(z), axes=[0, 1, 2, 3])\n  output loss\n")
        let step = try TrainingStep(loss: "loss", optimizer: Optimizer(.sgd, learningRate: 0.05)).run(try inferTypes(try Parser.parse(text)))
        let graph = try Self.graph(step.text)
        let jit = try JITBackend(graph: graph)
        jit.reusesParamTransforms = true
        let interpreter = try Interpreter(graph: graph, usePlan: true)
        var s1 = initialState(for: graph, seed: 3), s2 = s1
        let x = Self.tensor([1, 16, 12, 12], seed: 1)
        let feeds = ["x": x, "lr": Tensor.scalar(0.05)]
        for n in 0..<3 {
            _ = try interpreter.run(inputs: feeds, state: &s1, step: n)
            _ = try jit.run(inputs: feeds, state: &s2, step: n)
        }
        #expect(jit.skippedInvariantCalls == 0)
        for name in ["k", "k2"] {
            let (a, b) = (s1[name]?.floats ?? [], s2[name]?.floats ?? [])
            let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
            #expect(a.count == 2304 && b.count == 2304 && worst < 1e-4, "\(name): \(worst)")
        }
    }
}
