import Foundation
import KilnIR
import KilnTensor

/// Builds an ONNX graph node by node for the exporter: nodes, int64 shape initializers and
/// helper value names that cannot clash with Kiln's.
struct ONNXWriter {
    var graph = Onnx_GraphProto()
    private var counter = 0

    /// A fresh value name derived from `base` (Kiln names never contain `#`).
    mutating func fresh(_ base: String) -> String {
        counter += 1
        return "\(base)#\(counter)"
    }

    /// Appends a node; returns its first output's name (`output`, or a fresh one).
    @discardableResult
    mutating func node(_ opType: String, _ inputs: [String], _ output: String? = nil, _ attributes: [Onnx_AttributeProto] = []) -> String {
        var n = Onnx_NodeProto()
        n.opType = opType
        n.input = inputs
        let out = output ?? fresh(opType.lowercased())
        n.output = [out]
        n.name = out
        n.attribute = attributes
        graph.node.append(n)
        return out
    }

    /// An int64 vector initializer (shapes, axes, pads); returns its name.
    mutating func int64s(_ values: [Int], _ base: String = "shape") -> String {
        var t = Onnx_TensorProto()
        t.name = fresh(base)
        t.dataType = ONNXDataType.int64
        t.dims = [Int64(values.count)]
        t.int64Data = values.map(Int64.init)
        graph.initializer.append(t)
        return t.name
    }

    /// A scalar float initializer.
    mutating func scalar(_ value: Float, _ base: String = "c") -> String {
        var t = Onnx_TensorProto()
        t.name = fresh(base)
        t.dataType = ONNXDataType.float
        t.floatData = [value]
        graph.initializer.append(t)
        return t.name
    }

    /// An initializer holding `tensor` (raw little-endian bytes), named `name`.
    mutating func initializer(_ name: String, _ tensor: Tensor) {
        graph.initializer.append(Self.tensorProto(name, tensor))
    }

    static func tensorProto(_ name: String, _ tensor: Tensor) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = tensor.dtype == .f32 ? ONNXDataType.float : ONNXDataType.int32
        t.dims = tensor.shape.dims.map(Int64.init)
        t.rawData = Data(bytes: tensor.storage.pointer, count: tensor.type.byteCount)
        return t
    }

    static func valueInfo(_ name: String, _ type: TensorType) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = type.dtype == .f32 ? ONNXDataType.float : ONNXDataType.int32
        var shape = Onnx_TensorShapeProto()
        shape.dim = type.shape.dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            dim.dimValue = Int64(d)
            return dim
        }
        tensorType.shape = shape
        var t = Onnx_TypeProto()
        t.tensorType = tensorType
        v.type = t
        return v
    }
}

/// Attribute constructors.
enum Attr {
    static func int(_ name: String, _ v: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = Int64(v); return a
    }
    static func float(_ name: String, _ v: Double) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = Float(v); return a
    }
    static func ints(_ name: String, _ v: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = v.map(Int64.init); return a
    }
    static func string(_ name: String, _ v: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .string; a.s = Data(v.utf8); return a
    }
    static func tensor(_ name: String, _ t: Onnx_TensorProto) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .tensor; a.t = t; return a
    }
}
