import Foundation
import KilnRuntime
@testable import KilnONNX

/// Builds ONNX models in the test process (no Python, no committed files), for the hostile and
/// invalid models of issue 23: attributes of 2^62, rank-0 operands, huge folded constants.
struct ModelBuilder {
    var graph = Onnx_GraphProto()
    var opset: Int64 = 17

    init(_ name: String = "hostile") { graph.name = name }

    /// A float (or other `elemType`) graph input of shape `dims`.
    mutating func input(_ name: String, _ dims: [Int64], elemType: Int32 = ONNXDataType.float) {
        graph.input.append(Self.valueInfo(name, dims, elemType: elemType))
    }

    mutating func output(_ name: String) {
        graph.output.append(Self.valueInfo(name, [], elemType: ONNXDataType.float, shaped: false))
    }

    /// An int64 initializer (shape vectors, axes, indices).
    mutating func ints(_ name: String, _ values: [Int64], dims: [Int64]? = nil) {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = ONNXDataType.int64
        t.dims = dims ?? [Int64(values.count)]
        t.int64Data = values
        graph.initializer.append(t)
    }

    /// A float initializer (weights).
    mutating func floats(_ name: String, _ values: [Float], dims: [Int64]) {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = ONNXDataType.float
        t.dims = dims
        t.floatData = values
        graph.initializer.append(t)
    }

    /// A `Constant` node holding float `values` of shape `dims` (not an initializer: foldable).
    mutating func constant(_ name: String, _ values: [Float], dims: [Int64]) {
        var t = Onnx_TensorProto()
        t.dataType = ONNXDataType.float
        t.dims = dims
        t.floatData = values
        node("Constant", [], [name], ["value": t])
    }

    /// A node; attribute values are Int (int), [Int] (ints) or Float (float).
    mutating func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String = "", _ attributes: [String: Any] = [:]) {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name
        n.input = inputs
        n.output = outputs
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
            var a = Onnx_AttributeProto()
            a.name = key
            switch value {
            case let i as Int: a.type = .int; a.i = Int64(i)
            case let list as [Int]: a.type = .ints; a.ints = list.map(Int64.init)
            case let list as [String]: a.type = .strings; a.strings = list.map { Data($0.utf8) }
            case let f as Float: a.type = .float; a.f = f
            case let s as String: a.type = .string; a.s = Data(s.utf8)
            case let fs as [Float]: a.type = .floats; a.floats = fs
            case let t as Onnx_TensorProto: a.type = .tensor; a.t = t
            default: continue
            }
            n.attribute.append(a)
        }
        graph.node.append(n)
    }

    func bytes() throws -> [UInt8] {
        var model = Onnx_ModelProto()
        model.irVersion = 8
        var o = Onnx_OperatorSetIdProto()
        o.version = opset
        model.opsetImport = [o]
        model.graph = graph
        return Array(try model.serializedData())
    }

    /// The import's error message, nil when the model imports.
    func importMessage() -> String? {
        do {
            _ = try ONNXImporter.importModel(bytes: try bytes(), source: "m.onnx", evaluator: InterpreterEvaluator())
            return nil
        } catch let e as ONNXError { return e.message } catch { return "\(type(of: error)): \(error)" }
    }

    static func valueInfo(_ name: String, _ dims: [Int64], elemType: Int32, shaped: Bool = true) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = elemType
        if shaped {
            var shape = Onnx_TensorShapeProto()
            shape.dim = dims.map { d in
                var dim = Onnx_TensorShapeProto.Dimension()
                dim.dimValue = d
                return dim
            }
            tensor.shape = shape
        }
        var type = Onnx_TypeProto()
        type.tensorType = tensor
        v.type = type
        return v
    }
}
