import KilnIR
import KilnPasses
import KilnRuntime
import SwiftProtobuf
import Testing
@testable import KilnONNX

/// The ONNX export table, checked for every op of the op table that takes one or two tensors
/// of one shape and needs no attribute (the ops the one-to-one export tables serve, and more):
/// exporting `y = op(a[, b])` either writes a node producing `y` or is a clear error — never an
/// ONNX graph that silently lacks the op.
struct ExportTableTests {
    static var simpleOps: [OpKind] {
        OpKind.allCases.filter { op in
            op.category == .elementwise && op.attributes.allSatisfy { if case .required = $0.defaultValue { return false } else { return true } }
                && (op.arity == .exactly(1) || op.arity == .exactly(2))
        }
    }

    @Test("the table covers the elementwise ops it should")
    func enoughOps() { #expect(Self.simpleOps.count >= 20, "\(Self.simpleOps.map(\.name))") }

    @Test("every one- and two-operand elementwise op exports a node writing its result", arguments: simpleOps)
    func exports(_ op: OpKind) throws {
        let operands = op.arity == .exactly(1) ? "a" : "a, b"
        let text = "graph g {\n input a: f32[3]\n input b: f32[3]\n y = \(op.name)(\(operands))\n output y\n}"
        let graph = try ShapeInference().run(try Parser.parse(text))
        let bytes: [UInt8]
        do {
            bytes = try ONNXExporter.export(graph, params: [:])
        } catch let error as ONNXError {
            // Refusals name the op (random ops have no inference meaning).
            #expect(error.message.contains(op.name), "\(op.name): \(error.message)")
            #expect(!error.message.contains("internal"), "\(op.name): \(error.message)")
            return
        }
        let model = try Onnx_ModelProto(serializedBytes: bytes)
        #expect(model.graph.node.contains { $0.output.contains("y") }, "\(op.name): no ONNX node writes y")
    }
}
