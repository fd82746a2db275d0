import Foundation
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnCodegen

/// The direct convolution with output channels along the vector lanes against the
/// interpreter's direct sum, on geometries that reach every edge of its lowering: a last
/// position tile past the batch's positions, filter counts that are not whole panels, stride 2
/// (four phase planes), a 5×5 filter (taps looped by filter row, not written out), channels
/// over several L1 blocks (partial sums), tiles crossing row ends and images, and the fused
/// epilogue (bias, residual add, relu) applied as the tile is stored. Kernels are generated
/// for an AVX-512 and an AVX2 target on every host, and the test checks that the path was taken.
struct ChannelVectorConvolutionTests {
    static let cases: [(n: Int, c: Int, o: Int, size: Int, k: Int, stride: Int)] = [
        (2, 384, 56, 7, 3, 1), (1, 128, 64, 14, 3, 2), (3, 64, 32, 5, 5, 1), (1, 300, 32, 12, 3, 2), (2, 256, 64, 10, 3, 2),
    ]

    static let targets: [String: CodegenTarget] = ["avx512": .avx512, "avx2": .avx2]

    static func geometry(_ n: Int, _ c: Int, _ o: Int, _ size: Int, _ k: Int, _ stride: Int) -> WindowGeometry {
        let pad = k / 2, out = (size + 2 * pad - k) / stride + 1
        return WindowGeometry(input: Shape([n, c, size, size]), window: [k, k], stride: [stride, stride], padding: [pad, pad],
                              output: Shape([n, o, out, out]))
    }

    @Test("channel-vector tiles equal the direct sum, epilogue included", arguments: 0..<cases.count, ["avx512", "avx2"])
    func matchesInterpreter(_ index: Int, _ targetName: String) throws {
        let target = try #require(Self.targets[targetName])
        let (n, c, o, size, k, stride) = Self.cases[index]
        let g = Self.geometry(n, c, o, size, k, stride)
        let text = """
            graph g {
              input x: f32[\(n), \(c), \(size), \(size)]
              input r: f32[\(n), \(o), \(g.oh), \(g.ow)]
              param w: f32[\(o), \(c), \(k), \(k)] = he_normal
              param wb: f32[\(o), 1, 1] = constant(0.1)
              y = relu(add(add(conv2d(x, w, stride=[\(stride), \(stride)], padding=[\(k / 2), \(k / 2)]), wb), r))
              output y
            }
            """
        let graph = try inferTypes(try Parser.parse(text))
        let plan = try #require(ChannelVectorConvolution.plan(g, outChannels: o, target: target))
        #expect(ChannelVectorConvolution.prefers(plan, over: DirectConvolution.plan(g, outChannels: o, target: target), g, outChannels: o),
                "case \(index) does not take the channel-vector path on \(targetName)")
        let (expected, actual, names) = try BackendEquivalenceTests.run(graph, on: target, seed: 5, stateSeed: 9)
        #expect(names.contains { $0.contains("_cdirect") }, "no channel-vector kernel among \(names)")
        #expect(BackendEquivalenceTests.close(expected["y"], actual["y"], atol: 1e-5, rtol: 1e-5),
                "case \(index) on \(targetName): \(BackendEquivalenceTests.largestDifference(expected["y"], actual["y"]))")
    }

    @Test("the edges the cases are meant to reach are reached")
    func casesReachEdges() throws {
        var tails = 0, channelTails = 0, blocked = 0, looped = 0
        for (n, c, o, size, k, stride) in Self.cases {
            let g = Self.geometry(n, c, o, size, k, stride)
            let p = try #require(ChannelVectorConvolution.plan(g, outChannels: o, target: .avx2))
            if p.positions % p.tiling.mr != 0 { tails += 1 }
            if o % p.tiling.nr != 0 { channelTails += 1 }
            if k * k > PhasePlanes.unrolledTaps { looped += 1 }
            let reach = ChannelBlocks(channels: c, bytesPerChannel: 4 * (k * k * p.tiling.nr + stride * stride * ((k + stride - 1) / stride) * (p.tiling.mr * stride + 16)),
                                      target: .avx2)
            if reach.count > 1 { blocked += 1 }
        }
        #expect(tails >= 2 && channelTails >= 1 && blocked >= 1 && looped == 1, "tails \(tails), channel tails \(channelTails), blocked \(blocked), looped \(looped)")
    }

    @Test("ResNet-18's small maps and strided layers take it; its stem and 56×56 layers stay direct")
    func choice() throws {
        func prefers(_ n: Int, _ c: Int, _ o: Int, _ size: Int, _ k: Int, _ stride: Int) throws -> Bool {
            let g = Self.geometry(n, c, o, size, k, stride)
            let plan = try #require(ChannelVectorConvolution.plan(g, outChannels: o, target: .avx2))
            return ChannelVectorConvolution.prefers(plan, over: DirectConvolution.plan(g, outChannels: o, target: .avx2), g, outChannels: o)
        }
        for n in [1, 8] {
            #expect(try prefers(n, 512, 512, 7, 3, 1))
            #expect(try prefers(n, 256, 512, 14, 3, 2))
            #expect(try prefers(n, 128, 256, 28, 3, 2))
            #expect(try !prefers(n, 64, 64, 56, 3, 1))
            #expect(try !prefers(n, 3, 64, 224, 7, 2))
        }
        #expect(try !prefers(8, 64, 128, 56, 3, 2))
        // 1×1 filters stay with the GEMM.
        #expect(ChannelVectorConvolution.plan(Self.geometry(1, 64, 64, 7, 1, 1), outChannels: 64, target: .avx2) == nil)
    }
}
