import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// Convolutions the importer composes from 2-d ops — atrous (large dilation, tap by tap) and
/// 3-d (depth taps) — against direct loops over ONNX's definition. PyTorch exports of these and
/// of ConvTranspose and pooling variants are checked against onnxruntime by
/// Tests/ONNX/torch_cases.py.
@Suite struct VolumeConvolutionTests {
    /// Direct N-d convolution (group 1, bias 0): y[o, p] = Σ_c Σ_k x[c, p·s − pad + k·d] w[o, c, k].
    static func reference(_ x: [Float], _ xs: [Int], _ w: [Float], _ ws: [Int], step: [Int], pad: [Int], dilation: [Int]) -> ([Float], [Int]) {
        let n = xs.count - 2, spatial = Array(xs[2...]), kernel = Array(ws[2...])
        var out: [Int] = []
        for a in 0..<n {
            let extent: Int = spatial[a] + 2 * pad[a] - (kernel[a] - 1) * dilation[a] - 1
            out.append(extent / step[a] + 1)
        }
        let xsS = ConstantMath.strides(spatial), wsS = ConstantMath.strides(kernel), outS = ConstantMath.strides(out)
        let outCount = out.reduce(1, *), kCount = kernel.reduce(1, *), plane = spatial.reduce(1, *)
        var y = [Float](repeating: 0, count: ws[0] * outCount)
        for o in 0..<ws[0] { for p in 0..<outCount {
            var acc = 0.0
            for c in 0..<xs[1] { for k in 0..<kCount {
                var inside = true, xi = 0
                for a in 0..<n {
                    let pa = (p / outS[a]) % out[a], ka = (k / wsS[a]) % kernel[a]
                    let i: Int = pa * step[a] - pad[a] + ka * dilation[a]
                    if i < 0 || i >= spatial[a] { inside = false; break }
                    xi += i * xsS[a]
                }
                if inside { acc += Double(x[c * plane + xi]) * Double(w[(o * ws[1] + c) * kCount + k]) }
            } }
            y[o * outCount + p] = Float(acc)
        } }
        return (y, [1, ws[0]] + out)
    }

    @Test("atrous (dilation 4 and 5 on 3×3) and 3-d convolutions equal direct loops", arguments: [
        ([1, 2, 13, 11], [3, 2, 3, 3], [1, 1], [4, 5], [4, 5]),
        ([1, 2, 13, 11], [3, 2, 3, 3], [2, 1], [4, 2], [4, 5]),
        ([1, 2, 5, 7, 6], [3, 2, 3, 2, 3], [2, 1, 2], [1, 0, 1], [1, 2, 1]),
    ])
    func matchesDirect(_ xs: [Int], _ ws: [Int], _ stride: [Int], _ pad: [Int], _ dilation: [Int]) throws {
        var m = ModelBuilder()
        m.input("x", xs.map(Int64.init))
        let w: [Float] = (0..<ws.reduce(1, *)).map { (i: Int) -> Float in Float((i * 7) % 11) * 0.1 - 0.5 }
        m.floats("w", w, dims: ws.map(Int64.init))
        m.node("Conv", ["x", "w"], ["y"], ["strides": stride, "pads": pad + pad, "dilations": dilation])
        m.output("y")
        let x: [Float] = (0..<xs.reduce(1, *)).map { (i: Int) -> Float in Float((i * 5) % 13) * 0.1 - 0.6 }
        let (y, graph) = try EvaluatedFoldingTests.run(m, ["x": Tensor(Shape(xs), floats: x)])
        let (want, _) = Self.reference(x, xs, w, ws, step: stride, pad: pad, dilation: dilation)
        #expect(y.count == want.count)
        for (a, b) in zip(y, want) { #expect(abs(a - b) < 1e-4) }
        // Tap by tap: no filter spread to the dilated extent.
        #expect(!graph.nodes.contains { $0.op == .conv2d && ($0.operands.count > 1) && (graph.valueTypes[$0.operands[1]]?.shape.dims.last ?? 0) > 3 })
    }
}
