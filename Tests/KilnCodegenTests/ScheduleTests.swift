import KilnIR
import KilnPasses
import Testing
@testable import KilnCodegen

/// Schedule primitives refuse what would change a kernel's meaning, and say why; the heuristic
/// sets loop kinds only through them.
struct ScheduleTests {
    /// The first kernel `text`'s graph lowers to (after fusion), for an AVX2 target.
    static func kernel(_ text: String, passes: String = "fuse") throws -> LoopKernel {
        var manager = PassManager(try PassRegistry.pipeline(passes))
        let graph = try manager.run(try Parser.parse(text))
        let kernels = try Lowering.lower(graph, target: .avx2)
        return try #require(kernels.last)
    }

    static func loops(_ stmts: [Stmt]) -> [Loop] {
        stmts.flatMap { s -> [Loop] in
            if case .loop(let l) = s { return [l] + loops(l.body) }
            if case .when(_, let a, let b) = s { return loops(a) + loops(b) }
            return []
        }
    }

    @Test("vectorize turns contiguous f32 arithmetic into vector loads, math and stores")
    func vectorizesElementwise() throws {
        let k = try Self.kernel("graph g {\n input x: f32[4, 16]\n input b: f32[16]\n y = relu(add(x, b))\n output y\n}")
        var s = Schedule(k)
        let inner = try #require(Self.loops(k.body).last)
        let (_, lane) = try s.split(inner.variable, factor: 8)
        try s.vectorize(lane, lanes: 8)
        let text = LoopPrinter.print(s.kernel)
        #expect(text.contains("vectorized for"))
        #expect(text.contains("...+8]"), "vector loads")
        #expect(text.contains("splat8(0.0f)"), "the ReLU's zero broadcast")
        #expect(s.log == ["split v\(inner.variable) by 8 -> v\(lane - 1), v\(lane)", "vectorize v\(lane) by 8"])
    }

    @Test("peel splits off a scalar tail so the rest vectorises; it refuses loops with no tail")
    func peelsTails() throws {
        let k = try Self.kernel("graph g {\n input x: f32[4, 21]\n input b: f32[21]\n y = relu(add(x, b))\n output y\n}")
        let inner = try #require(Self.loops(k.body).last)
        #expect(inner.extent == 21)
        var s = Schedule(k)
        let tail = try s.peel(inner.variable, multipleOf: 8)
        let (outer, lane) = try s.split(inner.variable, factor: 8)
        try s.vectorize(lane, lanes: 8)
        let loops = Self.loops(s.kernel.body)
        #expect(loops.first { $0.variable == tail }?.extent == 5, "the tail keeps 21 mod 8 iterations")
        #expect(loops.first { $0.variable == outer }?.extent == 2, "the main loop holds 16, split by 8")
        #expect(loops.contains { $0.kind == .vectorized })
        #expect(s.log.first == "peel v\(inner.variable) after 16 -> v\(tail)")
        var refused = Schedule(k)
        #expect(throws: ScheduleError.self) { try refused.peel(inner.variable, multipleOf: 7) }  // 21 = 3·7: no tail
        #expect(throws: ScheduleError.self) { try refused.peel(inner.variable, multipleOf: 32) }  // shorter than the factor
        // The heuristic peels nested rows; the outermost loop stays whole for the threads.
        let scheduled = Scheduler.schedule(k, for: .avx2)
        #expect(scheduled.log.contains { $0.hasPrefix("peel v\(inner.variable)") }, "\(scheduled.log)")
    }

    @Test("loops shorter than the vectors are masked: rows of 14, peeled tails; below four iterations they stay scalar")
    func masksShortLoops() throws {
        let rows = try Self.kernel("graph g {\n input x: f32[6, 20]\n t = slice(x, begin=[0, 3], end=[6, 17])\n y = relu(t)\n output y\n}")
        let row = try #require(Self.loops(rows.body).last)
        #expect(row.extent == 14)
        let scheduled = Scheduler.schedule(rows, for: .avx512)
        #expect(scheduled.log == ["vectorize v\(row.variable) by 16 masked to 14"])
        let text = LoopPrinter.print(scheduled.kernel)
        #expect(text.contains("vectorized masked 14/16 for v\(row.variable) in 0..<14"), "\(text)")
        #expect(text.contains("...+16]"), "loads keep the vectors' width")
        // A peeled tail of 5 (21 = 2·8 + 5) is masked too.
        let tail = try Self.kernel("graph g {\n input x: f32[4, 21]\n input b: f32[21]\n y = relu(add(x, b))\n output y\n}")
        #expect(Scheduler.schedule(tail, for: .avx2).log.contains { $0.hasSuffix("by 8 masked to 5") })
        // Three iterations: scalar.
        let short = try Self.kernel("graph g {\n input x: f32[6, 20]\n t = slice(x, begin=[0, 3], end=[6, 6])\n y = relu(t)\n output y\n}")
        #expect(Scheduler.schedule(short, for: .avx512).log.isEmpty)
        var refused = Schedule(rows)
        #expect(throws: ScheduleError.self) { try refused.vectorize(row.variable, lanes: 8) }  // 14 > 8: split first
    }

    @Test("vectorize refuses strided stores, calls with no vector routine, ordered loops and wrong extents")
    func vectorizeRefusals() throws {
        // A transpose stores with a stride of 4 along its inner loop.
        let transpose = try Self.kernel("graph g {\n input x: f32[8, 4]\n y = transpose(x, perm=[1, 0])\n output y\n}")
        let cases: [(LoopKernel, String)] = [
            (transpose, "contiguous"),
            (try Self.kernel("graph g {\n input x: f32[2, 8]\n input p: f32[2, 8]\n y = pow(x, p)\n output y\n}"), "no vector form"),
        ]
        for (k, reason) in cases {
            var s = Schedule(k)
            let inner = try #require(Self.loops(k.body).last { $0.axis == .dataParallel })
            guard let (_, lane) = try? s.split(inner.variable, factor: inner.extent) else {
                Issue.record("split failed")
                continue
            }
            #expect(throws: ScheduleError.self) { try s.vectorize(lane, lanes: inner.extent) }
            do { try s.vectorize(lane, lanes: inner.extent) } catch let e as ScheduleError { #expect(e.description.contains(reason), "\(e)") }
        }
        // An ordered loop (a reduction) and a loop of the wrong extent.
        let reduce = try Self.kernel("graph g {\n input x: f32[4, 8]\n y = reduce_sum(x, axes=[1])\n output y\n}")
        let ordered = try #require(Self.loops(reduce.body).first { $0.axis == .ordered })
        var s = Schedule(reduce)
        #expect(throws: ScheduleError.self) { try s.vectorize(ordered.variable, lanes: ordered.extent) }
        let elementwise = try Self.kernel("graph g {\n input x: f32[2, 16]\n input b: f32[16]\n y = add(x, b)\n output y\n}")
        var t = Schedule(elementwise)
        let inner = try #require(Self.loops(elementwise.body).last)
        #expect(throws: ScheduleError.self) { try t.vectorize(inner.variable, lanes: 8) }
        #expect(throws: ScheduleError.self) { try t.vectorize(inner.variable, lanes: 5) }
    }

    @Test("parallelize takes only a sole outermost data-parallel loop; split and unroll need a divisor")
    func otherRefusals() throws {
        // A broadcast operand keeps two loops (rows, then the 16 columns).
        let k = try Self.kernel("graph g {\n input x: f32[6, 16]\n input b: f32[16]\n y = add(x, b)\n output y\n}")
        let all = Self.loops(k.body)
        try #require(all.count == 2)
        let (outer, inner) = (all[0], all[1])
        var s = Schedule(k)
        #expect(throws: ScheduleError.self) { try s.parallelize(inner.variable) }
        #expect(throws: ScheduleError.self) { try s.split(inner.variable, factor: 5) }
        #expect(throws: ScheduleError.self) { try s.unroll(outer.variable, factor: 4) }
        #expect(throws: ScheduleError.self) { try s.split(999, factor: 2) }
        try s.parallelize(outer.variable)
        #expect(throws: ScheduleError.self) { try s.parallelize(outer.variable) }
        #expect(s.kernel.splitsOuterLoop)
        try s.unroll(inner.variable, factor: 4)
        #expect(Self.loops(s.kernel.body).contains { $0.kind == .unrolled && $0.extent == 4 })
        let reduce = try Self.kernel("graph g {\n input x: f32[4, 8]\n y = reduce_sum(x, axes=[0])\n output y\n}")
        var r = Schedule(reduce)
        if reduce.body.count == 1, case .loop(let l) = reduce.body[0], l.axis == .ordered {
            #expect(throws: ScheduleError.self) { try r.parallelize(l.variable) }
        }
    }

    @Test("the heuristic parallelises only kernels worth a second thread")
    func heuristicThreshold() throws {
        let small = try Self.kernel("graph g {\n input x: f32[8, 16]\n y = neg(x)\n output y\n}")
        #expect(!Scheduler.schedule(small, for: .avx2).kernel.splitsOuterLoop)
        let large = try Self.kernel("graph g {\n input x: f32[1024, 256]\n y = neg(x)\n output y\n}")
        #expect(Scheduler.schedule(large, for: .avx2).kernel.splitsOuterLoop)
        var single = CodegenTarget.avx2
        single.threads = 1
        #expect(!Scheduler.schedule(large, for: single).kernel.splitsOuterLoop)
    }

    @Test("GEMM tilings fit the target's registers and vector width")
    func tilings() {
        for target in [CodegenTarget.avx2, .avx512] {
            for (m, n, k) in [(128, 256, 784), (32, 10, 128), (1, 1, 1), (1000, 3, 7), (64, 3136, 576)] {
                let t = GemmTiling.choose(m: m, n: n, k: k, target: target)
                #expect(t.isLegal)
                #expect(t.nr % target.vectorLanes == 0)
                #expect(t.mr * t.vectorsPerRow + t.vectorsPerRow + 1 <= target.vectorRegisters, "\(t) on \(target.vectorLanes) lanes")
            }
        }
    }
    @Test("direct convolution tiles are 3 vectors wide where the padding allows, 2 otherwise")
    func directConvolutionTileWidth() throws {
        func tiling(_ c: Int, _ o: Int, _ size: Int, stride: Int = 1, on target: CodegenTarget) throws -> GemmTiling {
            let out = (size + 2 - 3) / stride + 1
            let g = WindowGeometry(input: Shape([1, c, size, size]), window: [3, 3], stride: [stride, stride], padding: [1, 1],
                                   output: Shape([1, o, out, out]))
            return try #require(DirectConvolution.plan(g, outChannels: o, target: target)).tiling
        }
        // 56×56 and 28×28 maps: the same outputs either way, so the faster 3-vector rows.
        #expect(try tiling(64, 64, 56, on: .avx512).description == "8x48")
        #expect(try tiling(128, 128, 28, on: .avx512).description == "8x48")
        #expect(try tiling(64, 128, 56, stride: 2, on: .avx512).description == "8x48")
        // 7×7: 63 flat outputs fill 64 (2 vectors) but only 63 of 96.
        #expect(try tiling(512, 512, 7, on: .avx512).description == "8x32")
        // 16 registers leave no room for 3-vector rows; tiles stay 6 tall (12 accumulators) even
        // where 6 does not divide the filters: the last tile is a shorter one of its own.
        #expect(try tiling(64, 64, 56, on: .avx2).description == "6x16")
        #expect(try tiling(64, 128, 56, stride: 2, on: .avx2).description == "6x16")
        #expect(try tiling(512, 512, 7, on: .avx2).description == "6x16")
    }

    @Test("tilings keep enough accumulators, then the fullest last tile")
    func tilingAccumulators() {
        for target in [CodegenTarget.avx2, .avx512] {
            for m in [1, 3, 10, 64, 100, 128, 1000] {
                let own = GemmTiling.choose(m: m, n: 4096, k: 576, target: target)
                #expect(own.mr * own.vectorsPerRow >= Swift.min(GemmTiling.minimumAccumulators, m * own.vectorsPerRow), "\(own) for \(m) rows")
                #expect(own.mr * own.vectorsPerRow + own.vectorsPerRow + 1 <= target.vectorRegisters)
            }
        }
        // AVX-512: 8 rows for 64 (whole last tile, 16 accumulators); AVX2: 6 (4 would leave 8).
        #expect(GemmTiling.choose(m: 64, n: 4096, k: 576, target: .avx512).mr == 8)
        #expect(GemmTiling.choose(m: 64, n: 4096, k: 576, target: .avx2).mr == 6)
        // Narrow products (one vector per row): 13 rows on AVX2, 12 with none left over for 24.
        #expect(GemmTiling.choose(m: 24, n: 8, k: 64, target: .avx2).mr == 12)
    }

    @Test("row and panel blocks are of equal size, give or take one per block")
    func balancedBlocks() {
        for target in [CodegenTarget.avx2, .avx512] {
            for (m, n, k) in [(128, 816, 576), (128, 816, 1152), (1000, 300, 64), (64, 3136, 576), (512, 64, 4608), (37, 5000, 9)] {
                let t = GemmTiling.choose(m: m, n: n, k: k, target: target)
                let tiles = (m + t.mr - 1) / t.mr, panels = (n + t.nr - 1) / t.nr
                let rowBlocks = (tiles + t.tilesPerBlock - 1) / t.tilesPerBlock
                let columnBlocks = (panels + t.panelsPerBlock - 1) / t.panelsPerBlock
                let lastRows = tiles - (rowBlocks - 1) * t.tilesPerBlock, lastPanels = panels - (columnBlocks - 1) * t.panelsPerBlock
                #expect(lastRows >= t.tilesPerBlock - rowBlocks, "\(m)×\(n)×\(k): \(rowBlocks) row blocks of \(t.tilesPerBlock), the last \(lastRows)")
                #expect(lastPanels >= t.panelsPerBlock - columnBlocks, "\(m)×\(n)×\(k): \(columnBlocks) panel blocks of \(t.panelsPerBlock), the last \(lastPanels)")
            }
        }
        // ResNet-18's 64 → 128 stride-2 layer on AVX2: 22 row tiles as 11 + 11, not 18 + 4.
        #expect(GemmTiling.choose(m: 128, n: 816, k: 576, target: .avx2).tilesPerBlock == 11)
        #expect(GemmTiling.balanced(22, 18) == 11 && GemmTiling.balanced(22, 9) == 8 && GemmTiling.balanced(7, 7) == 7 && GemmTiling.balanced(1, 5) == 1)
    }

    @Test("convolution tiles address every filter row affinely: the last tile is shorter, never clamped")
    func tailTileIsAffine() throws {
        for (conv, o) in [("conv2d(x, k, stride=[2, 2], padding=[1, 1])", 16), ("conv2d(x, k, padding=[1, 1])", 64)] {
            let text = "graph g {\n input x: f32[1, 8, 28, 28]\n param k: f32[\(o), 8, 3, 3] = he_normal\n y = \(conv)\n output y\n}"
            var manager = PassManager(try PassRegistry.pipeline("fuse"))
            let kernels = try Lowering.lower(try manager.run(try Parser.parse(text)), target: .avx2)
            let tiled = try #require(kernels.first { $0.name.contains("_direct6x16") || $0.name.contains("_winograd6x16") },
                                     "\(kernels.map(\.name))")
            let printed = LoopPrinter.print(tiled)
            #expect(!printed.contains("select("), "\(tiled.name) clamps rows:\n\(printed)")
            // A whole tile's 6 × 2 accumulators and the last tile's (o mod 6) × 2, in one channel block.
            let accumulators = printed.components(separatedBy: ": f32x8 = splat8(0.0f)").count - 1
            #expect(accumulators == 12 + 2 * (o % 6), "\(tiled.name): \(accumulators) accumulators")
        }
    }

    @Test("a product reads B in place unless a packed panel serves more than GemmTiling.packingReuse row tiles")
    func packingPays() throws {
        func names(_ m: Int, _ k: Int, _ n: Int) throws -> [String] {
            let text = "graph g {\n input a: f32[\(m), \(k)]\n param b: f32[\(k), \(n)] = glorot_uniform\n c = matmul(a, b)\n output c\n}"
            return try Lowering.lower(try inferTypes(try Parser.parse(text)), target: .avx2).map(\.name)
        }
        // 784×256 (802 KB) outgrows half of the AVX2 target's 512 KB L2: the row count decides.
        for m in [1, 32, 64, 128, 132] { #expect(try !names(m, 784, 256).contains { $0.hasSuffix("_pack") }, "\(m) rows") }
        for m in [133, 256, 1024] { #expect(try names(m, 784, 256).contains { $0.hasSuffix("_pack") }, "\(m) rows") }
        // B within half of L2 is always read in place.
        #expect(try !names(1024, 256, 128).contains { $0.hasSuffix("_pack") })
    }
}
