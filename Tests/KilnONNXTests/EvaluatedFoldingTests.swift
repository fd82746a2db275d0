import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// Constant subgraphs of any op fold at import (EvaluatedFolding), and the indexing ops
/// (ScatterND, GatherND, CumSum) compute what ONNX defines, folded or at run time.
@Suite struct EvaluatedFoldingTests {
    /// Imports `m` and runs it on the interpreter with `x`; returns output `y` and the graph.
    static func run(_ m: ModelBuilder, _ inputs: [String: Tensor]) throws -> (y: [Float], graph: Graph) {
        let result = try ONNXImporter.importModel(bytes: try m.bytes(), source: "m.onnx", evaluator: InterpreterEvaluator())
        var state = result.tensors
        let graph = try ShapeInference().run(result.graph)
        let out = try Interpreter(graph: graph).run(inputs: inputs, state: &state, step: 0)
        return (try #require(out["y"]).floats, graph)
    }

    @Test("pads computed by a Transpose of constants fold, so Pad imports")
    func transposedPads() throws {
        var m = ModelBuilder()
        m.input("x", [1, 2])
        // [[0, 1], [0, 2]] transposed is [[0, 0], [1, 2]]: pads begin (0, 0), end (1, 2).
        m.ints("p", [0, 1, 0, 2], dims: [2, 2])
        m.node("Transpose", ["p"], ["pt"], ["perm": [1, 0]])
        m.ints("flat", [-1])
        m.node("Reshape", ["pt", "flat"], ["pads"])
        m.node("Pad", ["x", "pads"], ["y"])
        m.output("y")
        let (y, graph) = try Self.run(m, ["x": Tensor([1, 2], floats: [3, 4])])
        #expect(y == [3, 4, 0, 0, 0, 0, 0, 0])
        #expect(!graph.nodes.contains { $0.op == .transpose })
    }

    @Test("a Softmax of a Constant folds to a state tensor with the softmax's values")
    func softmaxOfConstant() throws {
        var m = ModelBuilder()
        m.input("x", [3])
        m.constant("c", [0, 1, 2], dims: [3])
        m.node("Softmax", ["c"], ["s"])
        m.node("Add", ["x", "s"], ["y"])
        m.output("y")
        let (y, graph) = try Self.run(m, ["x": Tensor([3], floats: [0, 0, 0])])
        let e = [Float(1), Float(M_E), Float(M_E * M_E)], sum = e.reduce(0, +)
        for (a, b) in zip(y, e.map { $0 / sum }) { #expect(abs(a - b) < 1e-6) }
        #expect(!graph.nodes.contains { $0.op == .softmax })
    }

    @Test("nodes of known inputs run on the evaluator the caller passes; one that refuses leaves them unfolded")
    func callersEvaluator() throws {
        var m = ModelBuilder()
        m.input("x", [3])
        m.constant("c", [0, 1, 2], dims: [3])
        m.node("Softmax", ["c"], ["s"])
        m.node("Add", ["x", "s"], ["y"])
        m.output("y")
        let recorder = RecordingEvaluator()
        let folded = try ONNXImporter.importModel(bytes: try m.bytes(), source: "m.onnx", evaluator: recorder)
        #expect(recorder.ops.contains(.softmax))
        #expect(!folded.graph.nodes.contains { $0.op == .softmax })
        // The import still succeeds without folding: the Softmax then runs with the model.
        let unfolded = try ONNXImporter.importModel(bytes: try m.bytes(), source: "m.onnx", evaluator: RefusingEvaluator())
        #expect(unfolded.graph.nodes.contains { $0.op == .softmax })
    }

    @Test("ScatterND on constants (Swin-T's window mask) folds; every reduction")
    func scatterConstant() throws {
        for (reduction, expected) in [("none", [Float](arrayLiteral: 1, 7, 1, 9)), ("add", [1, 17, 1, 10]), ("mul", [1, 63, 1, 9]),
                                      ("max", [1, 9, 1, 9]), ("min", [1, 1, 1, 1])] {
            var m = ModelBuilder()
            m.opset = 18
            m.input("x", [4])
            m.constant("data", [1, 1, 1, 1], dims: [4])
            m.ints("idx", [1, 3, 1], dims: [3, 1])
            m.constant("upd", [7, 9, 9], dims: [3])
            m.node("ScatterND", ["data", "idx", "upd"], ["s"], ["reduction": reduction])
            m.node("Add", ["x", "s"], ["y"])
            m.output("y")
            let (y, graph) = try Self.run(m, ["x": Tensor([4], floats: [0, 0, 0, 0])])
            if reduction == "none" {
                // Duplicates are undefined for none; Kiln applies them in order (the last wins).
                #expect(y == [1, 9, 1, 9])
            } else {
                #expect(y == expected, "reduction \(reduction)")
            }
            #expect(!graph.nodes.contains { $0.op == .gather }, "reduction \(reduction)")
        }
    }

    @Test("ScatterND with run-time data and run-time indices")
    func scatterRuntime() throws {
        var m = ModelBuilder()
        m.input("x", [3, 2])
        m.input("i", [2, 1], elemType: ONNXDataType.int64)
        m.constant("u", [10, 20, 30, 40], dims: [2, 2])
        m.node("ScatterND", ["x", "i", "u"], ["y"])
        m.output("y")
        let (y, _) = try Self.run(m, ["x": Tensor([3, 2], floats: [1, 2, 3, 4, 5, 6]), "i": Tensor([2, 1], ints: [2, -3])])
        #expect(y == [30, 40, 3, 4, 10, 20])
    }

    @Test("GatherND with batch_dims, known and run-time indices")
    func gatherND() throws {
        for known in [true, false] {
            var m = ModelBuilder()
            m.input("x", [2, 2, 3])
            if known { m.ints("i", [1, 0], dims: [2, 1, 1]) } else { m.input("i", [2, 1, 1], elemType: ONNXDataType.int64) }
            m.node("GatherND", ["x", "i"], ["y"], ["batch_dims": 1])
            m.output("y")
            var inputs = ["x": Tensor([2, 2, 3], floats: (0..<12).map(Float.init))]
            if !known { inputs["i"] = Tensor([2, 1, 1], ints: [1, -2]) }
            let (y, _) = try Self.run(m, inputs)
            #expect(y == [3, 4, 5, 6, 7, 8], "known: \(known)")
        }
    }

    @Test("CumSum forward, reverse, exclusive along a known axis")
    func cumSum() throws {
        let x: [Float] = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50]
        for (exclusive, reverse, expected) in [(0, 0, [Float](arrayLiteral: 1, 3, 6, 10, 15, 10, 30, 60, 100, 150)),
                                               (1, 0, [0, 1, 3, 6, 10, 0, 10, 30, 60, 100]),
                                               (0, 1, [15, 14, 12, 9, 5, 150, 140, 120, 90, 50]),
                                               (1, 1, [14, 12, 9, 5, 0, 140, 120, 90, 50, 0])] {
            var m = ModelBuilder()
            m.input("x", [2, 5])
            m.ints("axis", [-1], dims: [])
            m.node("CumSum", ["x", "axis"], ["y"], ["exclusive": exclusive, "reverse": reverse])
            m.output("y")
            let (y, _) = try Self.run(m, ["x": Tensor([2, 5], floats: x)])
            #expect(y == expected, "exclusive \(exclusive) reverse \(reverse)")
        }
    }

    @Test("a node that cannot fold keeps its ordinary error")
    func failureIsReported() throws {
        var m = ModelBuilder()
        m.input("x", [4])
        m.constant("data", [1, 1, 1, 1], dims: [4])
        m.ints("idx", [7], dims: [1, 1])
        m.constant("upd", [7], dims: [1])
        m.node("ScatterND", ["data", "idx", "upd"], ["s"])
        m.node("Add", ["x", "s"], ["y"])
        m.output("y")
        let message = try #require(m.importMessage())
        #expect(message.contains("ScatterND") && message.contains("index 7 is out of range"))
    }
}

/// The interpreter, noting the ops of every graph it is asked to evaluate.
private final class RecordingEvaluator: ConstantEvaluator, @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [OpKind] = []
    var ops: [OpKind] { lock.withLock { seen } }

    func evaluate(_ graph: Graph, state: [String: Tensor]) throws -> [String: Tensor] {
        lock.withLock { seen += graph.nodes.map(\.op) }
        return try InterpreterEvaluator().evaluate(graph, state: state)
    }
}

/// An evaluator that evaluates nothing.
private struct RefusingEvaluator: ConstantEvaluator {
    struct Refused: Error {}
    func evaluate(_ graph: Graph, state: [String: Tensor]) throws -> [String: Tensor] { throw Refused() }
}
