import Foundation
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// `ScatterElements` with run-time indices (negative ones too), none and add, and `ReduceProd`.
@Suite struct ScatterElementsConverterTests {
    static func scatter(_ reduction: String, indices: [Int32]) throws -> [Float] {
        var m = ModelBuilder()
        m.opset = 18
        m.input("data", [2, 3])
        m.input("idx", [2, 2], elemType: ONNXDataType.int64)
        m.input("upd", [2, 2])
        m.node("ScatterElements", ["data", "idx", "upd"], ["y"], ["axis": 1, "reduction": reduction])
        m.output("y")
        let result = try ONNXImporter.importModel(bytes: try m.bytes(), source: "m.onnx", evaluator: InterpreterEvaluator())
        var state = result.tensors
        let out = try Interpreter(graph: try ShapeInference().run(result.graph)).run(
            inputs: ["data": Tensor([2, 3], floats: [1, 2, 3, 4, 5, 6]), "idx": Tensor([2, 2], ints: indices), "upd": Tensor([2, 2], floats: [10, 20, 30, 40])],
            state: &state, step: 0)
        return try #require(out["y"]).floats
    }

    @Test("updates land at their own row and the indexed column")
    func scatterAlongAxis() throws {
        // Row 0: columns 2 and 0; row 1: column −1 (2) twice.
        #expect(try Self.scatter("none", indices: [2, 0, 1, -3]) == [20, 2, 10, 40, 30, 6])
        #expect(try Self.scatter("add", indices: [2, 0, -1, 2]) == [21, 2, 13, 4, 5, 76])
    }

    @Test("ReduceProd multiplies over the axes, odd lengths included")
    func reduceProd() throws {
        var m = ModelBuilder()
        m.input("x", [2, 3])
        m.node("ReduceProd", ["x"], ["y"], ["axes": [1], "keepdims": 0])
        m.output("y")
        #expect(try EvaluatedFoldingTests.run(m, ["x": Tensor([2, 3], floats: [1, 2, 3, 4, 5, -6])]).y == [6, -120])
    }
}
