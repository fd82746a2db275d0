import Foundation
@testable import KilnCodegen
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnJIT

/// Every generated kernel against the interpreter: GEMMs and convolutions of random shapes
/// generated for random targets (4-, 8- and 16-lane vectors, 16 or 32 registers, one or two
/// threads, small caches so blocks split), with and without fused epilogues, and whole training
/// steps under random schedules (unrolls, vector widths, threading) — each checked value by value.
struct GeneratedKernelTests {
    struct Draw {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
    }

    static func target(_ d: inout Draw) -> CodegenTarget {
        let lanes = [4, 8, 16][d.next(3)]
        return CodegenTarget(vectorLanes: lanes, vectorRegisters: lanes == 16 ? 32 : 16, threads: 1 + d.next(2),
                             l1Bytes: 8 << 10, l2Bytes: [16 << 10, 512 << 10][d.next(2)])
    }

    /// Runs `text` on the interpreter and on the JIT built for `target` under `policy`.
    static func check(_ text: String, target: CodegenTarget, policy: Scheduler.Policy = .heuristic, seed: UInt64,
                      label: String) throws {
        var manager = PassManager(OptimizingPipeline.passes)
        let graph = try manager.run(try inferTypes(try Parser.parse(text)))
        let feeds = BackendEquivalenceTests.feeds(graph, seed: seed)
        var s1 = initialState(for: graph, seed: seed), s2 = s1
        let want = try Interpreter(graph: graph, usePlan: true).run(inputs: feeds, state: &s1, step: 0)
        let got = try JITBackend(graph: graph, target: target, policy: policy).run(inputs: feeds, state: &s2, step: 0)
        #expect(!graph.outputs.isEmpty)
        for output in graph.outputs {
            #expect(BackendEquivalenceTests.close(want[output], got[output], atol: 1e-4, rtol: 1e-4), "\(label): \(output)")
        }
        for update in graph.updates {
            #expect(BackendEquivalenceTests.close(s1[update.target], s2[update.target], atol: 1e-4, rtol: 1e-4), "\(label): \(update.target)")
        }
    }

    @Test("random products, transposed or not, with and without a fused bias + ReLU (every fourth a row vector times a matrix)", arguments: 0..<24)
    func products(seed: Int) throws {
        var d = Draw(state: UInt64(seed) &+ 17)
        var (m, n, k) = (1 + d.next(70), 1 + d.next(70), 1 + d.next(90))
        // One row, past the plain-loop limit: the vector-matrix kernels, whole blocks and the rest.
        if seed % 4 == 0 { (m, n, k) = (1, 100 + d.next(700), 50 + d.next(300)) }
        let (ta, tb, epilogue) = (d.next(2) == 1, d.next(2) == 1, d.next(2) == 1)
        let target = Self.target(&d)
        let a = ta ? "[\(k), \(m)]" : "[\(m), \(k)]", b = tb ? "[\(n), \(k)]" : "[\(k), \(n)]"
        let product = "matmul(a, b, transpose_a=\(ta), transpose_b=\(tb))"
        let body = epilogue ? "y = relu(add(\(product), c))" : "y = \(product)"
        let text = "graph g {\n input a: f32\(a)\n input b: f32\(b)\n input c: f32[\(n)]\n \(body)\n output y\n}"
        try Self.check(text, target: target, seed: UInt64(seed), label: "\(m)x\(n)x\(k) ta=\(ta) tb=\(tb) \(target.vectorLanes) lanes")
    }

    @Test("batched products (per-head attention shapes, broadcast operands, transposed or not) on one generated GEMM", arguments: 0..<12)
    func batchedProducts(seed: Int) throws {
        var d = Draw(state: UInt64(seed) &+ 9090)
        let target = Self.target(&d)
        let (b0, b1) = (1 + d.next(3), 2 + d.next(3))
        // n a whole number of panels (the batched kernel) on most seeds, any width on others.
        let n = seed % 3 == 2 ? 1 + d.next(40) : 2 * target.vectorLanes * (1 + d.next(2))
        let (m, k) = (1 + d.next(50), 1 + d.next(50))
        let (ta, tb, broadcast) = (d.next(2) == 1, d.next(4) == 0, d.next(3) == 0)
        let a = ta ? "[\(b0), \(b1), \(k), \(m)]" : "[\(b0), \(b1), \(m), \(k)]"
        let right = tb ? "\(n), \(k)" : "\(k), \(n)"
        let bShape = broadcast ? "[\(b1), \(right)]" : "[\(b0), \(b1), \(right)]"
        let text = "graph g {\n input a: f32\(a)\n input b: f32\(bShape)\n y = matmul(a, b, transpose_a=\(ta), transpose_b=\(tb))\n output y\n}"
        try Self.check(text, target: target, seed: UInt64(seed), label: "\(b0)x\(b1) \(m)x\(n)x\(k) ta=\(ta) tb=\(tb) broadcast=\(broadcast) \(target.vectorLanes) lanes")
    }

    @Test("pointwise convolutions of one image read the input in place: whole panels, and a partial last panel packed alone", arguments: 0..<12)
    func pointwiseInPlace(seed: Int) throws {
        var d = Draw(state: UInt64(seed) &+ 4242)
        let target = Self.target(&d)
        // Planes of a multiple of the panel width (2 vectors), plus (odd seeds) a partial panel
        // (a 7×7 or 14×14 map's), and a remainder of channels.
        let rest = seed % 2 == 1 ? 1 + d.next(2 * target.vectorLanes - 1) : 0
        let spatial = 2 * target.vectorLanes * d.next(4) + (rest == 0 ? 2 * target.vectorLanes : rest), (c, o) = (1 + d.next(40), 1 + d.next(40))
        let relu = d.next(2) == 1
        let conv = "conv2d(x, k, stride=[1, 1], padding=[0, 0])"
        let shape = spatial % 4 == 0 ? "\(spatial / 4), 4" : "\(spatial), 1"
        let text = "graph g {\n input x: f32[1, \(c), \(shape)]\n input k: f32[\(o), \(c), 1, 1]\n y = \(relu ? "relu(\(conv))" : conv)\n output y\n}"
        try Self.check(text, target: target, seed: UInt64(seed), label: "c\(c) o\(o) spatial \(spatial) \(target.vectorLanes) lanes relu=\(relu)")
    }

    @Test("random convolutions: direct, im2col and pointwise paths, with fused epilogues", arguments: 0..<24)
    func convolutions(seed: Int) throws {
        var d = Draw(state: UInt64(seed) &+ 1001)
        let (n, c, o) = (1 + d.next(3), 1 + d.next(9), 1 + d.next(20))
        let (kernel, stride, padding) = ([1, 3, 5][d.next(3)], 1 + d.next(2), d.next(3))
        let (h, w) = (kernel + d.next(20), kernel + d.next(40))
        let target = Self.target(&d)
        let epilogue = d.next(3)
        let conv = "conv2d(x, k, stride=[\(stride), \(stride)], padding=[\(padding), \(padding)])"
        let body: String
        switch epilogue {
        case 0: body = "y = \(conv)"
        case 1: body = "y = relu(add(\(conv), reshape(bias, shape=[1, \(o), 1, 1])))"
        default: body = "v = \(conv)\n y = add(v, mul(v, 0.5))"
        }
        let text = "graph g {\n input x: f32[\(n), \(c), \(h), \(w)]\n input k: f32[\(o), \(c), \(kernel), \(kernel)]\n input bias: f32[\(o)]\n \(body)\n output y\n}"
        try Self.check(text, target: target, seed: UInt64(seed), label: "n\(n) c\(c) o\(o) \(h)x\(w) k\(kernel) s\(stride) p\(padding) \(target.vectorLanes) lanes")
    }

    @Test("random grouped and depthwise convolutions and their adjoints, with fused epilogues, under random schedules", arguments: 0..<16)
    func groupedConvolutions(seed: Int) throws {
        var d = Draw(state: UInt64(seed) &+ 5003)
        let groups = 1 + d.next(6)
        // Half depthwise (one channel per group, multiplier 1 or 2), half grouped.
        let (cg, og) = d.next(2) == 0 ? (1, 1 + d.next(2)) : (1 + d.next(4), 1 + d.next(3))
        let (c, o, n) = (groups * cg, groups * og, 1 + d.next(2))
        let (kh, kw) = ([1, 3, 5][d.next(3)], [1, 3][d.next(2)])
        let (sh, sw, ph, pw) = (1 + d.next(2), 1 + d.next(2), d.next(kh), d.next(kw))
        let (h, w) = (kh + d.next(15), kw + d.next(30))
        let target = Self.target(&d)
        let policy: Scheduler.Policy = d.next(2) == 0 ? .heuristic : .random(seed: UInt64(seed))
        let (oh, ow) = ((h + 2 * ph - kh) / sh + 1, (w + 2 * pw - kw) / sw + 1)
        let window = "stride=[\(sh), \(sw)], padding=[\(ph), \(pw)], groups=\(groups)"
        let text = """
            graph g {
             input x: f32[\(n), \(c), \(h), \(w)]
             input k: f32[\(o), \(cg), \(kh), \(kw)]
             input bias: f32[\(o)]
             input dy: f32[\(n), \(o), \(oh), \(ow)]
             y = min(relu(add(conv2d(x, k, \(window)), reshape(bias, shape=[1, \(o), 1, 1]))), 6.0)
             dx = conv2d_grad_input(dy, k, shape=[\(n), \(c), \(h), \(w)], \(window))
             dk = conv2d_grad_filter(x, dy, shape=[\(o), \(cg), \(kh), \(kw)], \(window))
             output y
             output dx
             output dk
            }
            """
        try Self.check(text, target: target, policy: policy, seed: UInt64(seed),
                       label: "n\(n) groups\(groups) cg\(cg) og\(og) \(h)x\(w) k\(kh)x\(kw) s\(sh)x\(sw) p\(ph)x\(pw) \(target.vectorLanes) lanes \(policy.name)")
    }

    /// Enough depthwise planes (2 images × 40 channels) that blocks of several planes reuse one
    /// slot of phase planes, in wide (NCHW) and narrow (flat) rows, strided and not, 2 threads.
    @Test("depthwise convolutions whose planes share a slot per block", arguments: [(28, 1), (40, 1), (40, 2), (9, 2)])
    func depthwiseSlots(width: Int, stride: Int) throws {
        for lanes in [8, 16] {
            let target = CodegenTarget(vectorLanes: lanes, vectorRegisters: lanes == 16 ? 32 : 16, threads: 2, l1Bytes: 32 << 10, l2Bytes: 512 << 10)
            let text = """
                graph g {
                 input x: f32[2, 40, 11, \(width)]
                 input k: f32[40, 1, 3, 3]
                 y = relu(conv2d(x, k, stride=[\(stride), \(stride)], padding=[1, 1], groups=40))
                 output y
                }
                """
            try Self.check(text, target: target, seed: UInt64(width * stride), label: "depthwise 11x\(width) s\(stride) \(lanes) lanes")
        }
    }

    @Test("random convolution adjoints: dx on the direct convolution (stride 1) or the generated GEMM; dw read in place for few filters, else on the GEMM split over k", arguments: 0..<12)
    func convolutionAdjoints(seed: Int) throws {
        var d = Draw(state: UInt64(seed) &+ 7007)
        let (n, c, o) = (1 + d.next(8), 1 + d.next(6), 1 + d.next(18))
        var (kh, kw, sh, sw) = ([1, 3, 5][d.next(3)], [1, 3, 5][d.next(3)], 1 + d.next(2), 1 + d.next(2))
        // Even seeds: stride 1 with a real window, where dx runs on the direct convolution.
        if seed % 2 == 0 { (kh, kw, sh, sw) = ([3, 5][d.next(2)], [3, 5][d.next(2)], 1, 1) }
        let (ph, pw) = (d.next(kh), d.next(kw))
        let (h, w) = (kh + d.next(24), kw + d.next(24))
        let target = Self.target(&d)
        let (oh, ow) = ((h + 2 * ph - kh) / sh + 1, (w + 2 * pw - kw) / sw + 1)
        let window = "stride=[\(sh), \(sw)], padding=[\(ph), \(pw)]"
        let text = """
            graph g {
             input x: f32[\(n), \(c), \(h), \(w)]
             input k: f32[\(o), \(c), \(kh), \(kw)]
             input dy: f32[\(n), \(o), \(oh), \(ow)]
             dx = conv2d_grad_input(dy, k, shape=[\(n), \(c), \(h), \(w)], \(window))
             dk = conv2d_grad_filter(x, dy, shape=[\(o), \(c), \(kh), \(kw)], \(window))
             output dx
             output dk
            }
            """
        try Self.check(text, target: target, seed: UInt64(seed),
                       label: "n\(n) c\(c) o\(o) \(h)x\(w) k\(kh)x\(kw) s\(sh)x\(sw) p\(ph)x\(pw) \(target.vectorLanes) lanes \(target.threads) threads")
    }

    @Test("the filter gradient of a long, narrow product is split over k")
    func filterGradientSplitsK() {
        #expect(ConvolutionGradients.splits(k: 64 * 576, units: 1, threads: 2) == 4)
        #expect(ConvolutionGradients.splits(k: 300, units: 1, threads: 2) == 1, "slices of at least 256")
        #expect(ConvolutionGradients.splits(k: 64 * 576, units: 8, threads: 2) == 1, "enough units already")
    }

    @Test("training steps under random schedules equal the interpreter's", arguments: 0..<6)
    func randomSchedules(seed: Int) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = ["mlp.kiln", "lenet5.kiln", "transformer.kiln"][seed % 3]
        let text = try String(contentsOf: root.appendingPathComponent("Graphs/\(file)"), encoding: .utf8)
        let step = try TrainingStep(loss: "loss", optimizer: Optimizer(.sgd, learningRate: 0.1)).run(try inferTypes(try Parser.parse(text)))
        var manager = PassManager(OptimizingPipeline.passes)
        let graph = try manager.run(step)
        var feeds = BackendEquivalenceTests.feeds(graph, seed: UInt64(seed))
        feeds["lr"] = Tensor.scalar(0.1)
        var s1 = initialState(for: graph, seed: 3), s2 = s1
        let want = try Interpreter(graph: graph, usePlan: true).run(inputs: feeds, state: &s1, step: 0)
        let policy = Scheduler.Policy.random(seed: UInt64(seed))
        let got = try JITBackend(graph: graph, target: .avx2, policy: policy).run(inputs: feeds, state: &s2, step: 0)
        #expect(BackendEquivalenceTests.close(want["loss"], got["loss"], atol: 1e-5, rtol: 1e-4), "\(file) random schedule \(seed)")
        #expect(!s1.isEmpty)
        for (name, value) in s1.sorted(by: { $0.key < $1.key }) {
            #expect(BackendEquivalenceTests.close(value, s2[name], atol: 1e-5, rtol: 1e-4), "\(file) random schedule \(seed): \(name)")
        }
    }

    @Test("random schedules do change the kernels (the test above is not the heuristic twice)")
    func randomSchedulesDiffer() throws {
        let k = try #require(try Lowering.lower(try inferTypes(try Parser.parse(
            "graph g {\n input x: f32[64, 48]\n input b: f32[48]\n y = relu(add(x, b))\n output y\n}")), target: .avx2).last)
        let logs = (0..<8).map { Scheduler.randomSchedule(k, seed: UInt64($0)).log }
        #expect(Set(logs.map { $0.joined(separator: ";") }).count > 2, "\(logs)")
    }
}
