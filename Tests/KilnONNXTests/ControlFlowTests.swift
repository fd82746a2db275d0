import Foundation
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
}
