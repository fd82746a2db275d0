import Foundation
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnCodegen

/// Register tiles that reduce over input channels block by block (`ChannelBlocks`): the block
/// sizes, and convolutions whose channels span the first, middle and last blocks — direct and
/// row-Winograd — against the interpreter.
struct ChannelBlocksTests {
    @Test("blocks are about equal, hold at most L1, and cover every channel once")
    func sizes() {
        let target = CodegenTarget.avx512
        let one = ChannelBlocks(channels: 64, bytesPerChannel: 256, target: target)
        #expect(one.count == 1 && one.size == 64 && one.last == 64)
        let three = ChannelBlocks(channels: 100, bytesPerChannel: target.l1Bytes / 46, target: target)
        #expect(three.count == 3 && three.size == 34 && three.last == 32)
        #expect(three.size * (three.count - 1) + three.last == 100)
    }

    @Test("convolutions reducing over several channel blocks equal the direct sum", arguments: [
        // Stride 2 stays direct: 100 channels at ~1 KB each make 3 blocks.
        "conv2d(x, k, stride=[2, 2], padding=[1, 1])",
        // Stride 1, 3×3 on a 16×16 map: row-Winograd, ~350 B per channel, 300 channels → 3 blocks.
        "conv2d(x, k, padding=[1, 1])",
    ])
    func matchesInterpreter(_ conv: String) throws {
        let c = conv.contains("stride") ? 100 : 300
        let text = """
            graph g {
              input x: f32[1, \(c), 16, 16]
              param k: f32[24, \(c), 3, 3] = he_normal
              y = \(conv)
              output y
            }
            """
        let graph = try inferTypes(try Parser.parse(text))
        let (expected, actual, names) = try BackendEquivalenceTests.run(graph, seed: 7, stateSeed: 4)
        let kind = conv.contains("stride") ? "_direct" : "_winograd"
        #expect(names.contains { $0.contains(kind) }, "no \(kind) kernel among \(names)")
        #expect(BackendEquivalenceTests.close(expected["y"], actual["y"], atol: 1e-5, rtol: 1e-5),
                "\(conv): \(BackendEquivalenceTests.largestDifference(expected["y"], actual["y"]))")
    }
}
