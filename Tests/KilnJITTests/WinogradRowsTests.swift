import Foundation
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnCodegen

/// The row-Winograd convolution (F(2, 3) and F(4, 3) along filter rows) against the
/// interpreter's direct sum, on geometries that reach every edge of its lowering: output heights
/// that leave 0, 1, 2 and 3 rows of the last group unused, paddings 0, 1 and 2 (groups at the top
/// and bottom whose rows fall outside the image), filter counts that are not whole register tiles, a batch, and the
/// fused epilogue (bias, residual add, relu) applied as rows leave the transform. Kernels are
/// generated for an AVX-512 and an AVX2 target on every host (LLVM narrows or widens the
/// vectors to the CPU), so the path is taken on both — and the test checks that it was.
struct WinogradRowsTests {
    static let cases: [(n: Int, c: Int, o: Int, h: Int, w: Int, pad: Int)] = [
        (1, 8, 16, 12, 12, 1), (2, 5, 11, 9, 7, 1), (1, 6, 8, 10, 13, 0), (1, 4, 9, 21, 18, 2), (1, 16, 24, 15, 33, 1),
        (1, 8, 8, 14, 14, 1), (1, 3, 5, 13, 10, 1), (1, 16, 16, 6, 46, 1),
    ]

    static let targets: [String: CodegenTarget] = ["avx512": .avx512, "avx2": .avx2]

    @Test("F(2, 3) and F(4, 3) rows equal the direct sum, epilogue included", arguments: 0..<cases.count, ["avx512", "avx2"])
    func matchesInterpreter(_ index: Int, _ targetName: String) throws {
        let target = try #require(Self.targets[targetName])
        let (n, c, o, h, w, pad) = Self.cases[index]
        let (oh, ow) = (h + 2 * pad - 2, w + 2 * pad - 2)
        let text = """
            graph g {
              input x: f32[\(n), \(c), \(h), \(w)]
              input r: f32[\(n), \(o), \(oh), \(ow)]
              param k: f32[\(o), \(c), 3, 3] = he_normal
              param kb: f32[\(o), 1, 1] = constant(0.1)
              y = relu(add(add(conv2d(x, k, padding=[\(pad), \(pad)]), kb), r))
              output y
            }
            """
        let graph = try inferTypes(try Parser.parse(text))
        let geometry = WindowGeometry(input: Shape([n, c, h, w]), window: [3, 3], stride: [1, 1], padding: [pad, pad], output: Shape([n, o, oh, ow]))
        let plan = try #require(WinogradRows.plan(geometry, outChannels: o, target: target), "case \(index) does not take the Winograd path on \(targetName)")
        let (expected, actual, names) = try BackendEquivalenceTests.run(graph, on: target, seed: 11, stateSeed: 3)
        let products = names.filter { $0.contains("_winograd") }
        #expect(products.count == 1 && products.allSatisfy { $0.hasSuffix("_f4") == (plan.transform.m == 4) },
                "case \(index): F(\(plan.transform.m), 3) planned, products \(products) among \(names)")
        #expect(BackendEquivalenceTests.close(expected["y"], actual["y"], atol: 1e-5, rtol: 1e-5),
                "case \(index) on \(targetName): \(BackendEquivalenceTests.largestDifference(expected["y"], actual["y"]))")
    }

    @Test("layers with many filters on small maps stay direct; large maps take Winograd rows")
    func choice() {
        func plan(_ c: Int, _ size: Int, batch: Int = 1, on target: CodegenTarget = .avx512) -> GemmTiling? {
            let g = WindowGeometry(input: Shape([batch, c, size, size]), window: [3, 3], stride: [1, 1], padding: [1, 1],
                                   output: Shape([batch, c, size, size]))
            return WinogradRows.plan(g, outChannels: c, target: target)?.tiling
        }
        for target in [CodegenTarget.avx512, .avx2] {
            #expect(plan(64, 56, on: target) != nil && plan(128, 28, on: target) != nil && plan(256, 14, on: target) != nil)
            #expect(plan(512, 7, on: target) == nil && plan(512, 7, batch: 8, on: target) == nil)
        }
        // 16 registers: 2-vector rows, 6 tall (12 accumulators), never 3×24 (9).
        #expect(plan(64, 56, on: .avx2)?.description == "6x16")
        var sse = CodegenTarget.avx2
        sse.vectorLanes = 4
        #expect(plan(64, 56, on: sse) == nil)
        let strided = WindowGeometry(input: Shape([1, 64, 56, 56]), window: [3, 3], stride: [2, 2], padding: [1, 1], output: Shape([1, 64, 28, 28]))
        #expect(WinogradRows.plan(strided, outChannels: 64, target: .avx512) == nil)
    }

    @Test("maps take F(4, 3) where it computes fewer products than F(2, 3)")
    func variant() throws {
        func m(_ h: Int, _ w: Int, _ c: Int = 8, on target: CodegenTarget) -> Int? {
            let g = WindowGeometry(input: Shape([1, c, h, w]), window: [3, 3], stride: [1, 1], padding: [1, 1], output: Shape([1, c, h, w]))
            return WinogradRows.plan(g, outChannels: c, target: target)?.transform.m
        }
        for target in [CodegenTarget.avx512, .avx2] {
            // ResNet-18's 56×56, 28×28 and 14×14 layers, and the test cases above that take F(4, 3).
            #expect(m(56, 56, 64, on: target) == 4 && m(28, 28, 128, on: target) == 4 && m(14, 14, 256, on: target) == 4)
            #expect(m(14, 14, on: target) == 4 && m(13, 10, on: target) == 4 && m(12, 12, on: target) == 4)
            // Maps where the last group of 4 would be mostly rounding: F(4, 3) computes no fewer products.
            #expect(m(6, 46, 16, on: target) == 2)
        }
        // Every case of the equivalence test on AVX2 with each variant at least once.
        var seen: Set<Int> = []
        for (n, c, o, h, w, pad) in Self.cases {
            let g = WindowGeometry(input: Shape([n, c, h, w]), window: [3, 3], stride: [1, 1], padding: [pad, pad],
                                   output: Shape([n, o, h + 2 * pad - 2, w + 2 * pad - 2]))
            seen.insert(try #require(WinogradRows.plan(g, outChannels: o, target: .avx2)).transform.m)
        }
        #expect(seen == [2, 4])
    }
}
