import KilnIR
import KilnPasses
import Testing

struct FusionTests {
    @Test("fused graphs of every model print, parse back equal, and verify")
    func roundTrip() throws {
        for (name, graph) in try TestGraphs.forwardAndTraining() {
            let fused = try Fusion().run(try Simplify().run(graph))
            try Verifier().verify(fused)
            let reparsed = try inferTypes(try Parser.parse(fused.text))
            #expect(reparsed == fused, "\(name)")
            #expect(reparsed.text == fused.text, "\(name)")
        }
    }

    @Test("every node lands in at most one kernel and nothing is lost")
    func noDuplication() throws {
        for (name, graph) in try TestGraphs.forwardAndTraining() {
            let simplified = try Simplify().run(graph)
            let fused = try Fusion().run(simplified)
            let flattened = fused.nodes.flatMap { $0.region ?? [$0] }.map(\.name)
            #expect(flattened.sorted() == simplified.nodes.map(\.name).sorted(), "\(name)")
        }
    }

    @Test("LeNet-5 Adam step: epilogues, loss and per-parameter updates are kernels")
    func lenetKernels() throws {
        let lenet = try #require(try TestGraphs.zoo().first { $0.0 == "lenet5.kiln" }?.1)
        let step = try TrainingStep(loss: "loss", optimizer: Optimizer(.adam)).run(lenet)
        let fused = try Fusion().run(try Simplify().run(step))
        let kernels = fused.nodes.filter { $0.op == .fused }
        let names = kernels.map { Printer.kernelName($0.region ?? []) }
        #expect(names.filter { $0 == "fused_conv2d_add_relu" }.count == 2)
        #expect(names.filter { $0 == "fused_matmul_add_relu" }.count == 2)
        for param in step.trainableParams {
            let kernel = kernels.first { $0.resultNames.contains("new_\(param.name)") }
            #expect(kernel?.resultNames.contains("new_m_\(param.name)") == true, "\(param.name)")
            #expect(kernel?.resultNames.contains("new_v_\(param.name)") == true, "\(param.name)")
        }
    }

    @Test("a refused fusion leaves a remark")
    func remarks() throws {
        let graph = try inferTypes(try Parser.parse("""
            graph g {
              input x: f32[4, 8]
              param b: f32[8] = zeros
              s = tanh(add(x, mul(b, 2.0)))
              output s
            }
            """))
        let (_, remarks) = try Fusion().fuse(graph)
        #expect(remarks.contains { $0.contains("differs from the kernel's iteration space [4, 8]") }, "\(remarks)")
    }

    /// Σ of products, each read only by the sum (a weight's gradient over an RNN's steps): each
    /// add is its own product's epilogue, adding the running sum in the product's tiles — not
    /// one kernel with the first product reading every other product back.
    @Test("a sum of products becomes a chain of products with the running sum in their epilogues")
    func sumOfProducts() throws {
        let graph = try inferTypes(try Parser.parse("""
            graph g {
              input a1: f32[4, 6]
              input a2: f32[4, 6]
              input a3: f32[4, 6]
              input a4: f32[4, 6]
              input b: f32[6, 5]
              input c: f32[4, 5]
              s = mul(add(add(add(add(matmul(a1, b), matmul(a2, b)), matmul(a3, b)), matmul(a4, b)), c), 0.5)
              output s
            }
            """))
        let fused = try Fusion().run(graph)
        try Verifier().verify(fused)
        let kernels = fused.nodes.filter { $0.op == .fused }
        let products = kernels.map { ($0.region ?? []).filter { $0.op == .matmul }.count }
        #expect(products == [1, 1, 1], "\(kernels.map { Printer.kernelName($0.region ?? []) })")
        // The first product is stored as it is; the next one's epilogue adds it.
        #expect(fused.nodes.filter { $0.op == .matmul }.count == 1)
    }

    /// An LSTM cell: every gate, the cell state and its tanh are read by the next step and by
    /// the backward pass too, yet all of them are one kernel (extra results), not seven.
    @Test("values also read after the kernel join it as extra results (multi-output fusion)")
    func multiOutput() throws {
        let graph = try inferTypes(try Parser.parse("""
            graph g {
              input z: f32[4, 8]
              input c: f32[4, 8]
              i = sigmoid(z)
              f = sigmoid(neg(z))
              t = tanh(z)
              c2 = add(mul(f, c), mul(i, t))
              h = mul(tanh(c2), i)
              r1 = reduce_sum(mul(c2, t), axes=[1])
              r2 = reduce_sum(mul(i, f), axes=[1])
              output h
              output r1
              output r2
            }
            """))
        let fused = try Fusion().run(graph)
        try Verifier().verify(fused)
        let kernels = fused.nodes.filter { $0.op == .fused }
        #expect(kernels.count == 3, "\(fused.text)")
        let cell = try #require(kernels.first { $0.resultNames.contains("h") })
        #expect(Set(cell.resultNames).isSuperset(of: ["h", "i", "f", "t", "c2"]), "\(cell.resultNames)")
        // The cell and two reductions reading its extra results, nothing else.
        #expect(fused.nodes.count == 3, "\(fused.text)")
    }

    /// A value read by the kernel and by a node that itself feeds the kernel cannot be one of
    /// its results: the kernel would need a value computed from its own result.
    @Test("a value whose other reader feeds the kernel stays outside it")
    func multiOutputNoCycle() throws {
        let graph = try inferTypes(try Parser.parse("""
            graph g {
              input x: f32[4, 8]
              e = exp(x)
              r = reshape(reduce_max(e, axes=[1]), shape=[4, 1])
              y = add(mul(e, 2.0), r)
              output y
            }
            """))
        let fused = try Fusion().run(graph)
        try Verifier().verify(fused)
        let kernelOfE = fused.nodes.first { ($0.region ?? [$0]).contains { $0.name == "e" } }
        let kernelOfY = fused.nodes.first { ($0.region ?? [$0]).contains { $0.name == "y" } }
        #expect(kernelOfE?.name != kernelOfY?.name, "\(fused.text)")
    }

    /// An LSTM's backward step concatenates its four gate gradients: each is computed straight
    /// into its block of the concat, not stored apart and copied.
    @Test("a concat's elementwise producers compute into its blocks, in one kernel")
    func concatKernel() throws {
        let graph = try inferTypes(try Parser.parse("""
            graph g {
              input a: f32[4, 8]
              input b: f32[4, 3]
              input c: f32[4, 5]
              e = exp(a)
              y = concat(mul(e, 2.0), tanh(b), c, sub(e, 1.0), axis=1)
              z = concat(a, a, axis=0)
              output y
              output z
            }
            """))
        let (fused, remarks) = try Fusion().fuse(graph)
        try Verifier().verify(fused)
        let kernel = try #require(fused.nodes.first { $0.name == "y" })
        let body = (kernel.region ?? []).map(\.op)
        #expect(body.filter { $0 == .concat }.count == 1 && body.last == .concat, "\(fused.text)")
        #expect(body.contains(.tanh) && body.contains(.mul) && body.contains(.sub), "\(fused.text)")
        // exp feeds two blocks: computed once, by its own kernel, and read by both.
        #expect(!body.contains(.exp), "\(fused.text)")
        #expect(remarks.contains { $0.contains("'e' not fused") && $0.contains("exactly one operand") }, "\(remarks)")
        // A concat of nothing computed stays a plain copy.
        #expect(fused.nodes.first { $0.name == "z" }?.op == .concat)
    }
}

