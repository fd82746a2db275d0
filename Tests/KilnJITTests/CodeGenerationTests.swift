import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnJIT

/// The JIT's generated code as text and its behaviour around the schedule: golden LLVM for a
/// small fused kernel (modules are deterministic: no addresses, numbered metadata), one function
/// per distinct kernel, located runtime errors, and every pass order computing the same step.
struct CodeGenerationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func compile(_ text: String, passes: [any Pass] = [Fusion(), MemoryPlanner()]) throws -> (StepCompiler, String) {
        var manager = PassManager(passes)
        let graph = try manager.run(try inferTypes(try Parser.parse(text)))
        var compiler = StepCompiler(graph: graph, prefix: "golden")
        let (module, _, _) = try compiler.compile()
        return (compiler, module.text + compiler.stepProgram)
    }

    /// The functions a module may call outside itself: OpenBLAS's sgemm, the runtime's thread
    /// pool and failure hook, and LLVM intrinsics.
    static func externalSymbols(_ ir: String) -> Set<String> {
        Set(ir.split(separator: "\n").filter { $0.hasPrefix("declare ") }.compactMap { line -> String? in
            guard let at = line.firstIndex(of: "@"), let open = line[at...].firstIndex(of: "(") else { return nil }
            return String(line[line.index(after: at)..<open])
        })
    }

    @Test("sgemm calls are counted from the scheduled kernels, and modules declare only allowed symbols")
    func countedLibraryCalls() throws {
        let allowed: Set<String> = ["cblas_sgemm", "kiln_parallel_for", "kiln_fail"]
        let cases: [(String, Int)] = [
            // A product the generated GEMM serves: no library call.
            ("graph g {\n input x: f32[64, 96]\n input w: f32[96, 48]\n y = matmul(x, w)\n output y\n}", 0),
            // So does a filter gradient (its im2col packed into the GEMM's panels).
            ("graph g {\n input x: f32[2, 3, 9, 9]\n input d: f32[2, 4, 9, 9]\n y = conv2d_grad_filter(x, d, shape=[4, 3, 3, 3], padding=[1, 1])\n output y\n}", 0),
            // A product with B transposed and wider than 16 columns still goes through one sgemm.
            ("graph g {\n input x: f32[64, 96]\n input w: f32[48, 96]\n y = matmul(x, w, transpose_b=true)\n output y\n}", 1),
        ]
        for (text, expected) in cases {
            var manager = PassManager([Fusion(), MemoryPlanner()])
            let graph = try manager.run(try inferTypes(try Parser.parse(text)))
            var compiler = StepCompiler(graph: graph, prefix: "counted")
            let (module, _, calls) = try compiler.compile()
            let ir = module.text
            #expect(calls == expected, "\(text)")
            let external = Self.externalSymbols(ir).filter { !$0.hasPrefix("llvm.") }
            #expect(!external.isEmpty && external.isSubset(of: allowed), "\(external)")
        }
    }

    /// One golden per tested LLVM version: LLVM prints typed pointers (14) or `ptr` (≥ 15),
    /// and its printer's details change between versions.
    @Test("golden LLVM IR of a fused bias + ReLU kernel (the math library excluded), per LLVM version")
    func goldenLLVM() throws {
        let (_, ir) = try Self.compile("graph g {\n input x: f32[6, 8]\n input b: f32[8]\n y = relu(add(x, b))\n output y\n}")
        let kernels = ir.components(separatedBy: "\n").drop { !$0.hasPrefix("define void @golden_") }.joined(separator: "\n")
        let url = Self.golden.appendingPathComponent("fused_bias_relu.llvm\(JITSession.llvmVersion).ll")
        try #require(FileManager.default.fileExists(atPath: url.path) || ProcessInfo.processInfo.environment["KILN_UPDATE_GOLDEN"] != nil,
                     "no golden for LLVM \(JITSession.llvmVersion) (tested: 14, 19); KILN_UPDATE_GOLDEN=1 writes one to review")
        if ProcessInfo.processInfo.environment["KILN_UPDATE_GOLDEN"] != nil {
            try kernels.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        #expect(kernels == (try String(contentsOf: url, encoding: .utf8)))
        // Deterministic: compiling again prints the same module.
        #expect(try Self.compile("graph g {\n input x: f32[6, 8]\n input b: f32[8]\n y = relu(add(x, b))\n output y\n}").1 == ir)
        #expect(!ir.contains("inttoptr"), "no process addresses in generated code")
    }

    @Test("kernels equal up to names compile to one function")
    func sharedKernels() throws {
        let (compiler, _) = try Self.compile("""
            graph g {
              input x: f32[16, 8]
              input y: f32[16, 8]
              a = tanh(x)
              b = tanh(y)
              output a
              output b
            }
            """)
        #expect(compiler.calls.count == 2)
        #expect(compiler.functions.count == 1)
    }

    @Test("kernels that differ only in where they read share a function; each call reads its own place")
    func offsetsMoveIntoCalls() throws {
        let slices = (0..<6).map { t in " s\(t) = tanh(slice(x, begin=[0, \(t), 0], end=[4, \(t + 1), 8]))\n output s\(t)\n" }.joined()
        let text = "graph g {\n input x: f32[4, 6, 8]\n" + slices + "}"
        let (compiler, ir) = try Self.compile(text)
        #expect(compiler.calls.count == 6)
        // Each reads x from its own row; with the rows' offsets moved into the calls, all six
        // are one function.
        #expect(compiler.functions.count == 1, "\(compiler.functions)")
        #expect(ir.contains("(x+40, s5)"), "the call names its offset")
        var manager = PassManager([Fusion(), MemoryPlanner()])
        let graph = try manager.run(try inferTypes(try Parser.parse(text)))
        let x = Tensor([4, 6, 8], floats: (0..<192).map { Float($0) / 96 - 1 })
        var s1: [String: Tensor] = [:], s2: [String: Tensor] = [:]
        let jit = try JITBackend(graph: graph).run(inputs: ["x": x], state: &s1, step: 0)
        let reference = try Interpreter(graph: graph).run(inputs: ["x": x], state: &s2, step: 0)
        // The JIT's vector tanh and the interpreter's agree to a few ulps, not bit for bit.
        func close(_ a: Float, _ b: Float) -> Bool { abs(a - b) <= 1e-6 * max(1, abs(b)) }
        for t in 0..<6 {
            let name = "s\(t)"
            let (got, want) = (jit[name]?.floats ?? [], reference[name]?.floats ?? [])
            #expect(got.count == 32 && want.count == 32 && zip(got, want).allSatisfy { close($0, $1) }, "\(name): \(got) vs \(want)")
            #expect(close(got.first ?? .nan, tanh(x.floats[8 * t])), "\(name) reads row \(t)")
        }
    }

    @Test("the same graph from two files names each file in its run-time errors (modules cached per location)")
    func cachedModulesKeepTheirLocations() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Graphs/mlp.kiln"), encoding: .utf8)
        for file in ["first.kiln", "second.kiln"] {
            var manager = PassManager(OptimizingPipeline.passes)
            let graph = try manager.run(try inferTypes(try Parser.parse(text, file: file)))
            let jit = try JITBackend(graph: graph)
            var state = initialState(for: graph, seed: 1)
            var labels = [Int32](repeating: 1, count: 128)
            labels[3] = 12
            let inputs = ["x": Tensor([128, 784], floats: [Float](repeating: 0.1, count: 128 * 784)), "labels": Tensor([128], ints: labels)]
            #expect(throws: Diagnostic.self) { _ = try jit.run(inputs: inputs, state: &state, step: 0) }
            do { _ = try jit.run(inputs: inputs, state: &state, step: 0) } catch let d as Diagnostic {
                #expect(d.description.hasPrefix("\(file):"), "\(d)")
            }
        }
    }

    @Test("a label out of range on the JIT is an error at the loss's source line")
    func locatedRuntimeError() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Graphs/mlp.kiln"), encoding: .utf8)
        var manager = PassManager(OptimizingPipeline.passes)
        let graph = try manager.run(try inferTypes(try Parser.parse(text, file: "mlp.kiln")))
        let jit = try JITBackend(graph: graph)
        var state = initialState(for: graph, seed: 1)
        var labels = [Int32](repeating: 1, count: 128)
        labels[7] = 10
        let inputs = ["x": Tensor([128, 784], floats: [Float](repeating: 0.1, count: 128 * 784)), "labels": Tensor([128], ints: labels)]
        do {
            _ = try jit.run(inputs: inputs, state: &state, step: 0)
            Issue.record("expected a label error")
        } catch let d as Diagnostic {
            #expect(d.description.contains("mlp.kiln:"), "\(d)")
            #expect(d.description.contains("label 10 at position 7 is out of range for 10 classes"), "\(d)")
        }
        // The backend recovers: a good batch runs afterwards.
        labels[7] = 3
        _ = try jit.run(inputs: ["x": inputs["x"]!, "labels": Tensor([128], ints: labels)], state: &state, step: 1)
    }

    static let orders = ["simplify,plan-memory,fuse", "plan-memory,simplify,fuse", "fuse,plan-memory,simplify",
                         "plan-memory,fuse", "fuse,simplify,plan-memory", "simplify,fuse,plan-memory"]

    /// The stale-plan miscompile: a plan made before later passes changed the schedule. SGD, so
    /// the updated params check the gradients linearly (Adam's g/(|g|+ε) turns summation-order
    /// rounding in near-zero gradients into visible differences).
    @Test("every pass order gives the interpreter's training step, on both backends", arguments: ["mlp.kiln", "transformer.kiln", "lenet5.kiln"])
    func passOrders(_ file: String) throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("Graphs/\(file)"), encoding: .utf8)
        let step = try TrainingStep(loss: "loss", optimizer: Optimizer(.sgd, learningRate: 0.1)).run(try inferTypes(try Parser.parse(text)))
        var feeds = BackendEquivalenceTests.feeds(step, seed: 3)
        feeds["lr"] = Tensor.scalar(0.1)
        var reference = initialState(for: step, seed: 7)
        let want = try Interpreter(graph: step).run(inputs: feeds, state: &reference, step: 0)
        for order in Self.orders {
            var manager = PassManager(try PassRegistry.pipeline(order))
            let g = try manager.run(step)
            let backends: [(String, ExecutionBackend)] = [
                ("interp", try Interpreter(graph: g.memoryPlan == nil ? try MemoryPlanner().run(g) : g, usePlan: true)),
                ("jit", try JITBackend(graph: g)),
            ]
            for (name, backend) in backends {
                var state = initialState(for: step, seed: 7)
                let got = try backend.run(inputs: feeds, state: &state, step: 0)
                // The JIT's GEMM sums in another order than OpenBLAS: kiln compare's tolerance.
                #expect(BackendEquivalenceTests.close(want["loss"], got["loss"], atol: 1e-5, rtol: 1e-4), "\(file) \(order) \(name): loss \(got["loss"]?.floats ?? [])")
                for (target, value) in reference.sorted(by: { $0.key < $1.key }) {
                    #expect(BackendEquivalenceTests.close(value, state[target], atol: 1e-5, rtol: 1e-4), "\(file) \(order) \(name): \(target)")
                }
            }
        }
    }
}

extension CodeGenerationTests {
    /// Small products run as generated loops, large ones through sgemm (one call for a batch
    /// against a shared matrix): every transpose combination and rank, odd sizes.
    @Test("matmul: generated loops and sgemm agree with the interpreter in every layout", arguments: [
        ("f32[5, 7]", "f32[7, 3]", false, false), ("f32[7, 5]", "f32[7, 3]", true, false),
        ("f32[5, 7]", "f32[3, 7]", false, true), ("f32[7, 5]", "f32[3, 7]", true, true),
        ("f32[4, 5, 7]", "f32[4, 7, 3]", false, false), ("f32[4, 7, 5]", "f32[4, 3, 7]", true, true),
        ("f32[4, 5, 7]", "f32[7, 3]", false, false), ("f32[5, 7]", "f32[4, 7, 3]", false, false),
        ("f32[3, 61, 67]", "f32[67, 59]", false, false), ("f32[3, 61, 67]", "f32[3, 59, 67]", false, true),
        ("f32[67, 61]", "f32[67, 59]", true, false), ("f32[61, 67]", "f32[59, 67]", false, true),
    ])
    func matmulLayouts(_ a: String, _ b: String, _ ta: Bool, _ tb: Bool) throws {
        let text = "graph g {\n input a: \(a)\n input b: \(b)\n y = matmul(a, b, transpose_a=\(ta), transpose_b=\(tb))\n output y\n}"
        try BackendEquivalenceTests.compare(try inferTypes(try Parser.parse(text)), "matmul \(a) \(b) \(ta) \(tb)")
    }
}
