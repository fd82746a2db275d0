import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// Golden imports of small hand-built models: the printed graph is exactly the committed
/// `.kiln` text, and the graph computes what ONNX defines.
@Suite struct ImporterTests {
    @Test(arguments: ["gemm_relu", "conv_bn_pool", "dynamic_reshape"])
    func importMatchesGolden(name: String) throws {
        let result = try TestModels.load(name, shapes: name == "dynamic_reshape" ? ["x": [5, 3, 4]] : [:])
        let typed = try ShapeInference().run(result.graph)
        let expected = try String(contentsOf: TestModels.directory.appendingPathComponent(name + ".kiln"), encoding: .utf8)
        #expect(Printer().print(typed) == expected)
        // The text reads back to the same graph.
        #expect(try Parser.parse(expected, file: name) == result.graph)
    }

    @Test func gemmReluComputesONNXSemantics() throws {
        let result = try TestModels.load("gemm_relu")
        let x = Tensor([2, 3], floats: [1, -2, 0.5, 3, 0.25, -1])
        var state = result.tensors
        let y = try Interpreter(graph: try ShapeInference().run(result.graph)).run(inputs: ["x": x], state: &state, step: 0)["y"]
        let w = try #require(result.tensors["w"]).floats, b = try #require(result.tensors["b"]).floats
        var expected: [Float] = []
        for i in 0..<2 {
            for j in 0..<4 {
                var s: Float = 0
                for k in 0..<3 { s += x.floats[i * 3 + k] * w[j * 3 + k] }
                expected.append(max(0.5 * s + b[j], 0))
            }
        }
        let got = try #require(y).floats
        for (g, e) in zip(got, expected) { #expect(abs(g - e) <= 1e-5) }
    }

    @Test func initializersBecomeParamsAndStatisticsState() throws {
        let result = try TestModels.load("conv_bn_pool")
        let roles = Dictionary(uniqueKeysWithValues: result.graph.params.map { ($0.name, $0.role) })
        #expect(roles["w"] == .param && roles["scale"] == .param && roles["bias"] == .param)
        #expect(roles["mean"] == .state && roles["var"] == .state)
        #expect(Set(result.tensors.keys) == Set(roles.keys))
    }

    @Test func shapeComputationsFoldAway() throws {
        let result = try TestModels.load("dynamic_reshape", shapes: ["x": [5, 3, 4]])
        #expect(result.graph.nodes.map(\.op) == [.reshape])
        #expect(result.graph.params.isEmpty)
    }

    @Test func depthwiseConvolutionWithSamePaddingHasStaticShape() throws {
        let result = try TestModels.load("depthwise_layernorm")
        let typed = try ShapeInference().run(result.graph)
        #expect(typed.valueTypes["y"] == TensorType(.f32, [1, 4, 4, 4]))
        // One grouped conv2d, not a sum of shifted slices.
        let convolutions = typed.nodes.filter { $0.op == .conv2d }
        #expect(convolutions.count == 1 && convolutions.first?.attributes.convolutionGroups == 4)
        #expect(!typed.nodes.contains { $0.op == .slice })
    }

    @Test func namesAreSanitizedAndUnique() {
        var names = ValueNames()
        #expect(names.kilnName(for: "/conv1/Conv_output_0") == "conv1_Conv_output_0")
        #expect(names.kilnName(for: "input.1") == "input.1")
        #expect(names.kilnName(for: "0") == "v0")
        #expect(names.kilnName(for: "onnx::Gemm_12") == "onnx__Gemm_12")
        #expect(names.kilnName(for: "a-b") == "a_b")
        #expect(names.kilnName(for: "a_b") == "a_b_2")
        #expect(names.kilnName(for: "a-b") == "a_b")
    }
}
