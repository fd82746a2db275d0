import KilnIR
import KilnPasses
import Testing
@testable import KilnCodegen

/// `Schedule.vectorizeReduction` accepts the accumulations it can reassociate and refuses,
/// with a reason, every loop whose iterations depend on each other in another way.
struct ReductionVectorizingTests {
    /// Rows of `n` elements of x reduced by `accumulate(acc, element)` into y, the accumulator
    /// starting at `initial`; `extra` adds statements to the reduction loop's body.
    static func rowKernel(n: Int, initial: Float = 0, axis: LoopAxis = .ordered,
                          accumulate: (Expr, Expr) -> Expr = { .binary(.addReassoc, $0, $1) },
                          extra: (_ x: Int, _ z: Int, _ acc: Int, _ r: Expr, _ c: Expr) -> [Stmt] = { _, _, _, _, _ in [] }) -> (LoopKernel, inner: Int) {
        var b = KernelBuilder(name: "rows", target: .avx2)
        let rows = 3
        let x = b.scratch(.f32, count: rows * n + 1), y = b.scratch(.f32, count: rows), z = b.scratch(.f32, count: rows * n)
        var inner = -1
        let body = b.loop(rows, .dataParallel) { b, r in
            let acc = b.fresh()
            let reduction = b.loop(n, axis) { _, c in
                if case .loopVar(let v) = c { inner = v }
                let element = Expr.load(buffer: x, index: r.mul(n).plus(c))
                return extra(x, z, acc, r, c) + [.assign(acc, accumulate(.value(acc), element))]
            }
            return [.declare(acc, .f32, .f32(initial))] + reduction + [.store(buffer: y, index: r, value: .value(acc))]
        }
        return (b.kernel(body, work: rows * n), inner)
    }

    @Test("a sum of 21 runs on 8 lanes: a peeled scalar tail, vector accumulators from −0, a tree of 3 lane swaps")
    func sums() throws {
        let (k, inner) = Self.rowKernel(n: 21)
        var s = Schedule(k)
        try s.vectorizeReduction(inner, lanes: 8)
        let text = LoopPrinter.print(s.kernel)
        #expect(s.log.first?.hasPrefix("peel v\(inner) after 16") == true, "\(s.log)")
        #expect(s.log.last?.hasPrefix("vectorize reduction") == true, "\(s.log)")
        #expect(text.contains("splat8(-0.0f)"), "\(text)")
        #expect(text.components(separatedBy: "swap(").count - 1 == 3, "three swaps, 4, 2 and 1 lanes apart: \(text)")
        #expect(text.contains("lane("), "\(text)")
        #expect(text.contains("...+8]"), "vector loads: \(text)")
    }

    @Test("max and min written as select(compare(x, acc), x, acc) start from ∓inf; NaN-propagating max too")
    func extremes() throws {
        let maxima: [(Expr, Expr) -> Expr] = [
            { acc, x in .select(x.compare(.ge, acc), x, acc) },
            { acc, x in .select(x.compare(.gt, acc).or(.unary(.isNaN, x)), x, acc) },
        ]
        for accumulate in maxima {
            let (k, inner) = Self.rowKernel(n: 16, initial: -.infinity, accumulate: accumulate)
            var s = Schedule(k)
            try s.vectorizeReduction(inner, lanes: 8)
            #expect(LoopPrinter.print(s.kernel).contains("splat8(-inff)"))
        }
        let (k, inner) = Self.rowKernel(n: 16, initial: .infinity, accumulate: { acc, x in .select(x.compare(.lt, acc), x, acc) })
        var s = Schedule(k)
        try s.vectorizeReduction(inner, lanes: 8)
        #expect(LoopPrinter.print(s.kernel).contains("splat8(inff)"))
    }

    @Test("refused: a product, an accumulator read in its loop, a store feeding a later iteration, data-parallel and short loops")
    func refusals() throws {
        func refusal(_ kernel: (LoopKernel, inner: Int), lanes: Int = 8) -> String {
            var s = Schedule(kernel.0)
            do { try s.vectorizeReduction(kernel.inner, lanes: lanes) } catch { return "\(error)" }
            return "accepted"
        }
        #expect(refusal(Self.rowKernel(n: 16, accumulate: { .binary(.mul, $0, $1) })).contains("not a sum, max or min"))
        let readsAcc = Self.rowKernel(n: 16) { _, z, acc, r, c in [.store(buffer: z, index: r.mul(16).plus(c), value: .value(acc))] }
        #expect(refusal(readsAcc).contains("is read inside the loop"))
        let feeds = Self.rowKernel(n: 16) { x, _, _, r, c in
            [.store(buffer: x, index: r.mul(16).plus(c).plus(1), value: .load(buffer: x, index: r.mul(16).plus(c)))]
        }
        #expect(refusal(feeds).contains("where another iteration stores it"))
        #expect(refusal(Self.rowKernel(n: 16, axis: .dataParallel)).contains("not a serial ordered loop"))
        #expect(refusal(Self.rowKernel(n: 7)).contains("fewer than 8"))
        #expect(refusal(Self.rowKernel(n: 16)) == "accepted")
    }

    @Test("the heuristic vectorises a softmax's max and sum rows")
    func heuristic() throws {
        var manager = PassManager(try PassRegistry.pipeline("fuse"))
        let graph = try manager.run(try Parser.parse("graph g {\n input x: f32[4, 49]\n y = softmax(x, axis=1)\n output y\n}"))
        let kernel = try #require(try Lowering.lower(graph, target: .avx2).last)
        let log = Scheduler.schedule(kernel, for: .avx2).log
        #expect(log.filter { $0.hasPrefix("vectorize reduction") }.count == 2, "\(log)")
    }
}
