import Foundation
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// `If` with a condition known at import inlines its branch; a run-time condition is refused.
@Suite struct ControlFlowTests {
    /// y = If(cond) { x + 1 } else { x · 3 }.
    static func model(constantCondition: Bool?) -> ModelBuilder {
        var m = ModelBuilder()
        m.input("x", [2])
        if let constantCondition { m.ints("cond", [constantCondition ? 1 : 0], dims: []) } else { m.input("cond", [], elemType: ONNXDataType.bool) }
        func branch(_ op: String, _ value: Float) -> Onnx_GraphProto {
            var b = ModelBuilder("branch")
            b.constant("c", [value], dims: [])
            b.node(op, ["x", "c"], ["out"])
            b.graph.output = [ModelBuilder.valueInfo("out", [2], elemType: ONNXDataType.float)]
            return b.graph
        }
        var node = Onnx_NodeProto()
        node.opType = "If"
        node.name = "choice"
        node.input = ["cond"]
        node.output = ["y"]
        for (key, graph) in [("then_branch", branch("Add", 1)), ("else_branch", branch("Mul", 3))] {
            var a = Onnx_AttributeProto()
            a.name = key
            a.type = .graph
            a.g = graph
            node.attribute.append(a)
        }
        m.graph.node.append(node)
        m.output("y")
        return m
    }

    @Test("a known condition takes its branch")
    func knownCondition() throws {
        #expect(try EvaluatedFoldingTests.run(Self.model(constantCondition: true), ["x": Tensor([2], floats: [1, 2])]).y == [2, 3])
        #expect(try EvaluatedFoldingTests.run(Self.model(constantCondition: false), ["x": Tensor([2], floats: [1, 2])]).y == [3, 6])
    }

    @Test("a run-time condition is a located refusal")
    func runtimeCondition() {
        #expect(Self.model(constantCondition: nil).importMessage()
                == "m.onnx: node 'choice' (If, opset 17): cond (input 'cond') must be known at import time (Kiln graphs have no control flow)")
    }

    @Test("Scan unrolls: a running sum as the state, each step's sum as the scan output, reversed too")
    func scanRunningSum() throws {
        for reverse in [0, 1] {
            var body = ModelBuilder("body")
            body.input("sum_in", [2])
            body.input("next", [2])
            body.node("Add", ["sum_in", "next"], ["sum_out"])
            body.node("Identity", ["sum_out"], ["scan_out"])
            body.graph.output = [ModelBuilder.valueInfo("sum_out", [2], elemType: ONNXDataType.float),
                                 ModelBuilder.valueInfo("scan_out", [2], elemType: ONNXDataType.float)]
            var m = ModelBuilder()
            m.input("init", [2])
            m.input("xs", [3, 2])
            var node = Onnx_NodeProto()
            node.opType = "Scan"
            node.name = "scan"
            node.input = ["init", "xs"]
            node.output = ["y", "z"]
            var g = Onnx_AttributeProto(); g.name = "body"; g.type = .graph; g.g = body.graph
            var n = Onnx_AttributeProto(); n.name = "num_scan_inputs"; n.type = .int; n.i = 1
            var d = Onnx_AttributeProto(); d.name = "scan_input_directions"; d.type = .ints; d.ints = [Int64(reverse)]
            node.attribute = [g, n, d]
            m.graph.node.append(node)
            m.output("y")
            m.output("z")
            let result = try ONNXImporter.importModel(bytes: try m.bytes(), source: "m.onnx", evaluator: InterpreterEvaluator())
            var state = result.tensors
            let out = try Interpreter(graph: try ShapeInference().run(result.graph)).run(
                inputs: ["init": Tensor([2], floats: [0, 10]), "xs": Tensor([3, 2], floats: [1, 2, 3, 4, 5, 6])], state: &state, step: 0)
            #expect(try #require(out["y"]).floats == [9, 22])
            #expect(try #require(out["z"]).floats == (reverse == 0 ? [1, 12, 4, 16, 9, 22] : [5, 16, 8, 20, 9, 22]))
        }
    }
}
