import Foundation
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// `Mod` and `Round`, which Kiln has no op for, compute what ONNX's reference computes.
@Suite struct ArithmeticConverterTests {
    static func binary(_ op: String, _ a: Tensor, _ b: Tensor, elemType: Int32, _ attributes: [String: Any] = [:]) throws -> Tensor {
        var m = ModelBuilder()
        m.input("a", a.shape.dims.map(Int64.init), elemType: elemType)
        m.input("b", b.shape.dims.map(Int64.init), elemType: elemType)
        m.node(op, ["a", "b"], ["y"], attributes)
        m.output("y")
        let result = try ONNXImporter.importModel(bytes: try m.bytes(), source: "m.onnx", evaluator: InterpreterEvaluator())
        var state = result.tensors
        let out = try Interpreter(graph: try ShapeInference().run(result.graph)).run(inputs: ["a": a, "b": b], state: &state, step: 0)
        return try #require(out["y"])
    }

    @Test("integer Mod takes the divisor's sign (fmod 0) or the dividend's (fmod 1)")
    func integerMod() throws {
        let a = Tensor([6], ints: [-4, 7, 5, 4, -7, 8]), b = Tensor([6], ints: [2, -3, 8, -2, 3, 5])
        #expect(try Self.binary("Mod", a, b, elemType: ONNXDataType.int32).ints == [0, -2, 5, 0, 2, 3])
        #expect(try Self.binary("Mod", a, b, elemType: ONNXDataType.int32, ["fmod": 1]).ints == [0, 1, 5, 0, -1, 3])
    }

    @Test("float Mod: C's fmod, Python's %, and ±∞ divisors")
    func floatMod() throws {
        let a = Tensor([4], floats: [-4.5, 7, 3, -3]), b = Tensor([4], floats: [2, -2, .infinity, .infinity])
        #expect(try Self.binary("Mod", a, b, elemType: ONNXDataType.float, ["fmod": 1]).floats == [-0.5, 1, 3, -3])
        #expect(try Self.binary("Mod", a, b, elemType: ONNXDataType.float).floats == [1.5, -1, 3, .infinity])
    }

    @Test("Round is half to even, exact next to the ties")
    func round() throws {
        var m = ModelBuilder()
        m.input("x", [9])
        m.node("Round", ["x"], ["y"])
        m.output("y")
        let x: [Float] = [0.5, 1.5, 2.5, -0.5, -1.5, 0.49999997, 2.5000002, 1e9 + 64, -.infinity]
        let y = try EvaluatedFoldingTests.run(m, ["x": Tensor([9], floats: x)]).y
        let want: [Float] = [0, 2, 2, 0, -2, 0, 3, 1e9 + 64, -Float.infinity]
        #expect(y == want)
    }
}
