import Foundation
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnCodegen

/// Products whose rows are not a whole number of register tiles: the last row tile is a
/// shorter micro-kernel of its own (`GemmTiling.rowTile`) — direct (strided) and row-Winograd
/// convolutions and the generated GEMM, every remainder of AVX2's 6-row tiles, with fused
/// epilogues — against the interpreter.
struct RowTileTests {
    @Test("the last, shorter row tile computes the remaining filters", arguments: [13, 14, 15, 16, 17], [1, 2])
    func matchesInterpreter(_ o: Int, _ stride: Int) throws {
        let out = (12 + 2 - 3) / stride + 1
        let text = """
            graph g {
              input x: f32[2, 7, 12, 12]
              input r: f32[2, \(o), \(out), \(out)]
              param k: f32[\(o), 7, 3, 3] = he_normal
              param kb: f32[\(o), 1, 1] = constant(0.1)
              y = relu(add(add(conv2d(x, k, stride=[\(stride), \(stride)], padding=[1, 1]), kb), r))
              output y
            }
            """
        let graph = try inferTypes(try Parser.parse(text))
        let (expected, actual, names) = try BackendEquivalenceTests.run(graph, on: .avx2, seed: 17, stateSeed: 5)
        let kind = stride == 1 ? "_winograd6x16" : "_direct6x16"
        #expect(names.contains { $0.contains(kind) }, "no \(kind) kernel among \(names)")
        #expect(BackendEquivalenceTests.close(expected["y"], actual["y"], atol: 1e-5, rtol: 1e-5),
                "\(o) filters, stride \(stride): \(BackendEquivalenceTests.largestDifference(expected["y"], actual["y"]))")
    }

    @Test("the GEMM's last, shorter row tile computes the remaining rows", arguments: [12, 13, 14, 15, 16, 17])
    func gemmMatchesInterpreter(_ m: Int) throws {
        // n = 40: two whole 16-column panels and a partial one (stored through the spill tile).
        let text = """
            graph g {
              input a: f32[\(m), 33]
              param w: f32[33, 40] = he_normal
              param b: f32[40] = constant(0.1)
              y = relu(add(matmul(a, w), b))
              output y
            }
            """
        let graph = try inferTypes(try Parser.parse(text))
        let (expected, actual, names) = try BackendEquivalenceTests.run(graph, on: .avx2, seed: 19, stateSeed: 8)
        #expect(names.contains { $0.contains("_gemm6x16") }, "no 6x16 GEMM among \(names)")
        #expect(BackendEquivalenceTests.close(expected["y"], actual["y"], atol: 1e-5, rtol: 1e-5),
                "\(m) rows: \(BackendEquivalenceTests.largestDifference(expected["y"], actual["y"]))")
    }
}
