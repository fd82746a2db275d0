import Foundation
import KilnRuntime
import Testing
@testable import KilnONNX

/// `Pad`'s modes, cropping and fill values compute what ONNX defines (numpy.pad's values).
@Suite struct PadConverterTests {
    static func pad(_ mode: String, _ pads: [Int64], value: Float? = nil) throws -> [Float] {
        var m = ModelBuilder()
        m.opset = 19
        m.input("x", [1, 4])
        m.ints("pads", pads)
        var inputs = ["x", "pads"]
        if let value { m.constant("v", [value], dims: []); inputs.append("v") }
        m.node("Pad", inputs, ["y"], ["mode": mode])
        m.output("y")
        return try EvaluatedFoldingTests.run(m, ["x": Tensor([1, 4], floats: [1, 2, 3, 4])]).y
    }

    @Test("edge, reflect and wrap take the source rows numpy.pad takes")
    func modes() throws {
        // pads: begin (0, 3), end (0, 2) on [[1, 2, 3, 4]].
        #expect(try Self.pad("edge", [0, 3, 0, 2]) == [1, 1, 1, 1, 2, 3, 4, 4, 4])
        #expect(try Self.pad("reflect", [0, 3, 0, 2]) == [4, 3, 2, 1, 2, 3, 4, 3, 2])
        #expect(try Self.pad("wrap", [0, 3, 0, 2]) == [2, 3, 4, 1, 2, 3, 4, 1, 2])
        // Far beyond one period, reflect keeps bouncing: numpy.pad([1, 2, 3, 4], 7, 'reflect')[:7].
        #expect(Array(try Self.pad("reflect", [0, 7, 0, 0]).prefix(7)) == [2, 1, 2, 3, 4, 3, 2])
    }

    @Test("negative pads crop; a fill of −∞ fills the border without 0·∞ = NaN inside")
    func cropAndInfiniteFill() throws {
        #expect(try Self.pad("constant", [0, -1, 0, 1], value: 9) == [2, 3, 4, 9])
        #expect(try Self.pad("edge", [0, 1, 0, -2]) == [1, 1, 2])
        #expect(try Self.pad("constant", [0, 1, 0, 1], value: -.infinity) == [-.infinity, 1, 2, 3, 4, -.infinity])
    }

    @Test("an unknown mode and a crop to nothing are located errors")
    func errors() {
        var m = ModelBuilder()
        m.input("x", [1, 4])
        m.ints("pads", [0, -2, 0, -2])
        m.node("Pad", ["x", "pads"], ["y"], name: "p", ["mode": "mirror"])
        m.output("y")
        #expect(m.importMessage() == "m.onnx: node 'p' (Pad, opset 17): mode 'mirror' is not constant, edge, reflect or wrap")
        m.graph.node[0].attribute = []
        #expect(m.importMessage()?.contains("crop axis 1 of [1, 4] to nothing") == true)
    }
}
