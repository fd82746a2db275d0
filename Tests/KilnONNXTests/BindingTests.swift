import Foundation
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// `--bind` (`ONNXImportOptions.bindings`): a graph input given a value at import time becomes
/// a constant, so the values that decide shapes may come from graph inputs; wrong values are
/// located errors.
@Suite struct BindingTests {
    /// y = TopK(x, k).values, with k a graph input.
    static func topK() -> ModelBuilder {
        var m = ModelBuilder()
        m.input("x", [5])
        m.input("k", [1], elemType: ONNXDataType.int64)
        m.node("TopK", ["x", "k"], ["y", "i"])
        m.output("y")
        return m
    }

    static func message(_ m: ModelBuilder, _ bindings: [String: ONNXBinding]) -> String? {
        do {
            _ = try ONNXImporter.importModel(bytes: try m.bytes(), source: "m.onnx", evaluator: InterpreterEvaluator(), options: ONNXImportOptions(bindings: bindings))
            return nil
        } catch let e as ONNXError { return e.message } catch { return "\(error)" }
    }

    @Test("a bound k makes TopK import; the input is gone from the graph")
    func boundTopK() throws {
        #expect(Self.message(Self.topK(), [:])?.contains("K (input 'k') must be known at import time") == true)
        var proto = Onnx_TensorProto()
        proto.dataType = ONNXDataType.int64
        proto.dims = [1]
        proto.int64Data = [2]
        for binding in [ONNXBinding.tensorProto(Array(try proto.serializedData())), .tensor(Tensor([1], ints: [2]))] {
            let result = try ONNXImporter.importModel(bytes: try Self.topK().bytes(), source: "m.onnx", evaluator: InterpreterEvaluator(), options: ONNXImportOptions(bindings: ["k": binding]))
            #expect(result.inputs.map(\.onnx) == ["x"])
            var state = result.tensors
            let out = try Interpreter(graph: try ShapeInference().run(result.graph)).run(inputs: ["x": Tensor([5], floats: [3, 9, 1, 7, 5])], state: &state, step: 0)
            #expect(try #require(out["y"]).floats == [9, 7])
        }
    }

    @Test("a binding naming no input, of the wrong type or shape, or garbage, is a located error")
    func badBindings() {
        let m = Self.topK()
        #expect(Self.message(m, ["kk": .tensor(Tensor([1], ints: [2]))])?.hasPrefix("m.onnx: --bind kk: the model has no input 'kk'") == true)
        #expect(Self.message(m, ["k": .tensor(Tensor([1], floats: [2]))]) == "m.onnx: --bind k: the value is floating point, the input int64")
        #expect(Self.message(m, ["k": .tensor(Tensor([2], ints: [2, 2]))]) == "m.onnx: --bind k: dimension 0 is 1 in the model, 2 in the value")
        #expect(Self.message(m, ["k": .tensorProto([0xFF, 0xFF, 0xFF])])?.hasPrefix("m.onnx: --bind k: not a serialized ONNX TensorProto") == true)
    }
}
