import Foundation
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnCodegen

/// 1×1 convolutions of a batch as one product per image, reading each image's planes in place
/// (`ConvolutionLowering.pointwiseBatch`): planes of whole panels and planes with a packed partial
/// panel, with a fused epilogue (bias, clip, residual), against the interpreter — and no im2col.
/// Projections (more input channels than filters, planes of at least 64) run panel by panel
/// with prefetches (`GeneratedGemm.panelsOutside`), a batch of one included.
struct PointwiseBatchTests {
    @Test("batched 1×1 convolutions equal the interpreter, epilogue included", arguments: [(2, 24, 40, 7), (3, 16, 20, 8), (4, 5, 9, 11), (2, 40, 12, 9), (3, 36, 8, 16), (1, 48, 20, 12), (1, 40, 6, 8)])
    func matchesInterpreter(_ n: Int, _ c: Int, _ o: Int, _ size: Int) throws {
        let text = """
            graph g {
              input x: f32[\(n), \(c), \(size), \(size)]
              input r: f32[\(n), \(o), \(size), \(size)]
              param k: f32[\(o), \(c), 1, 1] = he_normal
              param kb: f32[\(o), 1, 1] = constant(0.1)
              y = add(min(max(add(conv2d(x, k), kb), 0.0), 0.6), r)
              output y
            }
            """
        let graph = try inferTypes(try Parser.parse(text))
        let (expected, actual, names) = try BackendEquivalenceTests.run(graph, seed: 13, stateSeed: 6)
        #expect(names.contains { $0.contains("_gemm") } && !names.contains { $0.contains("_im2col") }, "kernels: \(names)")
        #expect(BackendEquivalenceTests.close(expected["y"], actual["y"], atol: 1e-5, rtol: 1e-5),
                "\(n)×\(c)×\(size)² → \(o): \(BackendEquivalenceTests.largestDifference(expected["y"], actual["y"]))")
    }

    @Test("projections streaming their input prefetch the next panel; expansions and matmuls do not")
    func prefetchChoice() throws {
        func loops(_ text: String) throws -> String {
            let graph = try inferTypes(try Parser.parse(text))
            var manager = PassManager(OptimizingPipeline.passes)
            return LoopPrinter.print(lowered: try Lowering.lower(try manager.run(graph), target: .avx2), scheduledFor: .avx2)
        }
        func conv(_ n: Int, _ c: Int, _ o: Int, _ size: Int) -> String {
            "graph g {\n  input x: f32[\(n), \(c), \(size), \(size)]\n  param k: f32[\(o), \(c), 1, 1] = he_normal\n  y = conv2d(x, k)\n  output y\n}\n"
        }
        #expect(try loops(conv(2, 40, 12, 9)).contains("prefetch %"))
        #expect(try loops(conv(1, 48, 20, 12)).contains("prefetch %"))
        #expect(try !loops(conv(2, 12, 40, 9)).contains("prefetch %"))
        // Planes narrower than 64 elements: rows close enough for the hardware prefetchers.
        #expect(try !loops(conv(2, 40, 12, 7)).contains("prefetch %"))
        let matmul = "graph g {\n  input a: f32[32, 784]\n  param b: f32[784, 256] = he_normal\n  y = matmul(a, b)\n  output y\n}\n"
        #expect(try !loops(matmul).contains("prefetch %"))
    }
}
