import Foundation
import KilnIR
import KilnTensor
import SwiftProtobuf

/// Kiln IR → ONNX `ModelProto` (opset 17) for inference graphs: inputs, params as initializers
/// (their values given by the caller), every forward op (fused kernels are written out op by
/// op), outputs. Random ops and gradient helpers have no inference meaning and are errors.
public enum ONNXExporter {
    public static let opset = 17

    /// The serialized model. `graph` must be typed (shape inference ran); `params` holds a
    /// value for every param and state of the graph.
    public static func export(_ graph: Graph, params: [String: Tensor], producer: String = "kiln") throws -> [UInt8] {
        guard graph.updates.isEmpty else {
            throw ONNXError("graph '\(graph.name)' updates \(graph.updates.map(\.target).joined(separator: ", ")): export the inference graph, not a training step")
        }
        let types = graph.valueTypes
        var w = ONNXWriter()
        w.graph.name = graph.name
        for input in graph.inputs { w.graph.input.append(ONNXWriter.valueInfo(input.name, input.type)) }
        for p in graph.params {
            guard let value = params[p.name] else { throw ONNXError("no value for param '\(p.name)' (give --params)") }
            guard value.type == p.type else { throw ONNXError("param '\(p.name)' is \(p.type), its value is \(value.type)") }
            w.initializer(p.name, value)
        }
        for node in graph.nodes {
            let nodes = node.op == .fused ? (node.region ?? []) : [node]
            for n in nodes {
                do {
                    try ExportRules.emit(n, types: types, into: &w)
                } catch let error as ConversionError {
                    // A node's location already starts with the file: name it once.
                    throw ONNXError("\(n.location.map { "\($0)" } ?? graph.sourceFile): '\(n.name)' (\(n.op.name)): \(error.message)")
                }
            }
        }
        for name in graph.outputs {
            guard let t = types[name] else { throw ONNXError("output '\(name)' has no type (run shape inference first)") }
            w.graph.output.append(ONNXWriter.valueInfo(name, t))
        }
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.producerName = producer
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = Int64(opset)
        model.opsetImport = [opsetID]
        model.graph = w.graph
        return Array(try model.serializedBytes() as Data)
    }
}
