import KilnIR
import KilnRuntime
import Testing

/// Kernels against naive, obviously-correct references written out below (index arithmetic
/// in plain loops, sums in Double). Tolerance: exact for elementwise arithmetic and layout,
/// 1e-4 relative for GEMM-based ops whose summation order differs.
struct KernelTests {
    /// Element of `t` at the broadcast position of output index `index` in `out`.
    func broadcastIndex(_ index: [Int], _ shape: Shape) -> Int {
        let offset = index.count - shape.rank
        var flat = 0
        for axis in 0..<shape.rank { flat = flat * shape[axis] + (shape[axis] == 1 ? 0 : index[axis + offset]) }
        return flat
    }

    func unravel(_ flat: Int, _ shape: Shape) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.rank)
        for axis in stride(from: shape.rank - 1, through: 0, by: -1) {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return index
    }

    static let broadcastCases: [([Int], [Int])] = [
        ([], [3, 4]), ([3, 4], []), ([1], [2, 3]), ([3, 1], [1, 5]), ([2, 1, 4], [3, 1]),
        ([4], [2, 3, 4]), ([2, 3, 4], [2, 3, 4]), ([1, 1], [1]), ([5, 1, 1], [1, 6, 2]),
        // Long rows, walked in place (a row repeated, a value repeated along a row), rows and
        // flat runs longer than the interpreter's 512-element chunk.
        ([3, 40], [40]), ([3, 40], [3, 1]), ([2, 600], [600]), ([1300], []), ([2, 1, 700], [3, 1]), ([1100], [1100]),
    ]

    @Test("binary ops under numpy broadcasting", arguments: broadcastCases)
    func broadcasting(_ a: [Int], _ b: [Int]) throws {
        var rng = TestRandom(UInt64(a.count * 31 + b.count))
        let ta = rng.tensor(a, 0.5, 2), tb = rng.tensor(b, 0.5, 2)
        let ops: [(String, (Float, Float) -> Float)] = [("add", +), ("sub", -), ("mul", *), ("div", /),
                                                        ("max", { Swift.max($0, $1) }), ("less", { $0 < $1 ? 1 : 0 })]
        for (op, f) in ops {
            let text = "graph g {\n input a: f32\(Shape(a))\n input b: f32\(Shape(b))\n y = \(op)(a, b)\n output y\n}"
            let y = try #require(try runGraph(text, ["a": ta, "b": tb])["y"])
            let fa = ta.floats, fb = tb.floats
            for i in 0..<y.elementCount {
                let index = unravel(i, y.shape)
                #expect(y.floats[i] == f(fa[broadcastIndex(index, ta.shape)], fb[broadcastIndex(index, tb.shape)]), "\(op) \(a) \(b) at \(index)")
            }
        }
    }

    func naiveMatmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int, ta: Bool, tb: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += Double(ta ? a[p * m + i] : a[i * k + p]) * Double(tb ? b[j * k + p] : b[p * n + j]) }
                c[i * n + j] = Float(sum)
            }
        }
        return c
    }

    @Test("matmul: every transpose combination, batched and broadcast batches",
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmul(_ ta: Bool, _ tb: Bool) throws {
        var rng = TestRandom(ta ? (tb ? 1 : 2) : (tb ? 3 : 4))
        let (m, k, n, batch) = (5, 7, 3, 2)
        let aDims = ta ? [k, m] : [m, k], bDims = tb ? [n, k] : [k, n]
        let a = rng.tensor([batch] + aDims), b = rng.tensor(bDims)
        let text = "graph g {\n input a: f32\(Shape([batch] + aDims))\n input b: f32\(Shape(bDims))\n y = matmul(a, b, transpose_a=\(ta), transpose_b=\(tb))\n output y\n}"
        let y = try #require(try runGraph(text, ["a": a, "b": b])["y"])
        #expect(y.shape == Shape([batch, m, n]))
        for i in 0..<batch {
            let want = naiveMatmul(Array(a.floats[(i * m * k)..<((i + 1) * m * k)]), b.floats, m: m, k: k, n: n, ta: ta, tb: tb)
            #expect(maxAbsDifference(Array(y.floats[(i * m * n)..<((i + 1) * m * n)]), want) < 1e-4)
        }
    }

    @Test("conv2d with stride 2 and padding against direct summation")
    func conv2d() throws {
        var rng = TestRandom(9)
        let x = rng.tensor([2, 3, 7, 6]), w = rng.tensor([4, 3, 3, 2])
        let y = try #require(try runGraph("graph g {\n input x: f32[2, 3, 7, 6]\n input w: f32[4, 3, 3, 2]\n y = conv2d(x, w, stride=[2, 2], padding=[1, 1])\n output y\n}",
                                          ["x": x, "w": w])["y"])
        #expect(y.shape == Shape([2, 4, 4, 4]))
        let fx = x.floats, fw = w.floats
        for i in 0..<y.elementCount {
            let idx = unravel(i, y.shape)
            var sum = 0.0
            for c in 0..<3 {
                for ky in 0..<3 {
                    for kx in 0..<2 {
                        let yy = idx[2] * 2 + ky - 1, xx = idx[3] * 2 + kx - 1
                        guard yy >= 0, yy < 7, xx >= 0, xx < 6 else { continue }
                        sum += Double(fx[((idx[0] * 3 + c) * 7 + yy) * 6 + xx]) * Double(fw[((idx[1] * 3 + c) * 3 + ky) * 2 + kx])
                    }
                }
            }
            #expect(Swift.abs(y.floats[i] - Float(sum)) < 1e-4)
        }
    }

    @Test("pooling with odd sizes, stride and padding")
    func pooling() throws {
        var rng = TestRandom(5)
        let x = rng.tensor([1, 2, 5, 7])
        let out = try runGraph("graph g {\n input x: f32[1, 2, 5, 7]\n m = max_pool2d(x, window=[3, 3], stride=[2, 2], padding=[1, 1])\n a = avg_pool2d(x, window=[2, 3], stride=[2, 3])\n output m\n output a\n}", ["x": x])
        let m = try #require(out["m"]), a = try #require(out["a"])
        #expect(m.shape == Shape([1, 2, 3, 4]) && a.shape == Shape([1, 2, 2, 2]))
        let fx = x.floats
        for i in 0..<m.elementCount {
            let idx = unravel(i, m.shape)
            var best = -Float.infinity
            for ky in 0..<3 { for kx in 0..<3 {
                let yy = idx[2] * 2 + ky - 1, xx = idx[3] * 2 + kx - 1
                if yy >= 0, yy < 5, xx >= 0, xx < 7 { best = Swift.max(best, fx[(idx[1] * 5 + yy) * 7 + xx]) }
            } }
            #expect(m.floats[i] == best)
        }
        for i in 0..<a.elementCount {
            let idx = unravel(i, a.shape)
            var sum: Float = 0
            for ky in 0..<2 { for kx in 0..<3 { sum += fx[(idx[1] * 5 + idx[2] * 2 + ky) * 7 + idx[3] * 3 + kx] } }
            #expect(Swift.abs(a.floats[i] - sum / 6) < 1e-6)
        }
    }

    @Test("reductions over any axes, with keep_dims, against direct sums")
    func reductions() throws {
        var rng = TestRandom(11)
        let x = rng.tensor([3, 4, 5])
        let out = try runGraph("graph g {\n input x: f32[3, 4, 5]\n s = reduce_sum(x, axes=[0, 2])\n m = reduce_max(x, axes=[-1], keep_dims=true)\n a = reduce_mean(x, axes=[1])\n output s\n output m\n output a\n}", ["x": x])
        let fx = x.floats
        let s = try #require(out["s"]).floats, m = try #require(out["m"]), a = try #require(out["a"]).floats
        for j in 0..<4 {
            var sum = 0.0
            for i in 0..<3 { for k in 0..<5 { sum += Double(fx[(i * 4 + j) * 5 + k]) } }
            #expect(Swift.abs(s[j] - Float(sum)) < 1e-5)
        }
        #expect(m.shape == Shape([3, 4, 1]))
        for r in 0..<12 { #expect(m.floats[r] == fx[(r * 5)..<(r * 5 + 5)].max()) }
        for i in 0..<3 { for k in 0..<5 {
            let mean = (0..<4).reduce(0.0) { $0 + Double(fx[(i * 4 + $1) * 5 + k]) } / 4
            #expect(Swift.abs(a[i * 5 + k] - Float(mean)) < 1e-6)
        } }
    }

    @Test("softmax is stable for large logits and sums to one")
    func softmaxStable() throws {
        let x = Tensor([2, 3], floats: [1000, 1001, 1002, -1000, -1000, -1000])
        let y = try #require(try runGraph("graph g {\n input x: f32[2, 3]\n y = softmax(x, axis=1)\n output y\n}", ["x": x])["y"]).floats
        #expect(y.allSatisfy { $0.isFinite })
        #expect(Swift.abs(y[0] + y[1] + y[2] - 1) < 1e-6 && Swift.abs(y[3] - 1.0 / 3) < 1e-6)
    }
}
