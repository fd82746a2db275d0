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
struct PointwiseBatchTests {
    @Test("batched 1×1 convolutions equal the interpreter, epilogue included", arguments: [(2, 24, 40, 7), (3, 16, 20, 8), (4, 5, 9, 11)])
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
}
