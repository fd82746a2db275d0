import Foundation
import KilnCheck
import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// The per-node search: an interpreter with one op broken on purpose (its test hook) is caught at
/// that node, with its source line, and inside a fused kernel at that op.
struct DivergingNodeSearchTests {
    @Test("a broken op inside a fused kernel is named: the kernel, the op in its body, both source lines")
    func brokenFusedOp() throws {
        // mlp.kiln line 13: h2 = relu(add(matmul(h1, w2), b2)); %4 is the add, fused with the matmul and relu.
        let report = try compare(graph: try CompareSupport.trainingStep("mlp.kiln"), backends: (.interpreter, CompareSupport.broken("%4")),
                                 steps: 2, findDivergingNode: true)
        #expect(!report.passed)
        let search = try #require(report.nodeSearch)
        #expect(search.step == 0)
        let d = try #require(search.divergence)
        #expect(d.node.name == "h2" && d.node.op == "fused_matmul_add_relu" && d.backend == "broken interpreter")
        #expect(d.node.location?.line == 13 && d.node.location?.file == "Graphs/mlp.kiln")
        #expect(d.innerOp?.name == "%4" && d.innerOp?.op == "add" && d.innerOp?.location?.line == 13)
        #expect(d.innerError.map { Swift.abs($0.maxAbsError - 1) < 1e-5 } == true)
        // Its operands agree exactly; its own result is off by the injected 1 at [0, 0] before the relu.
        #expect(d.inputs.map(\.name) == ["h1", "w2", "b2"] && d.inputs.allSatisfy { $0.maxAbsError == 0 })
        #expect(d.outputs.first.map { !$0.passed && $0.worstIndex == [0, 0] } == true)
        #expect(search.checks.count == d.node.index + 1)
    }

    @Test("a broken plain node is found at that node, after every earlier node agreed")
    func brokenPlainNode() throws {
        let g = try CompareSupport.trainingStep("mlp.kiln", "sgd")
        let report = try compare(graph: g, backends: (.interpreter, CompareSupport.broken("d_logits", delta: 0.5)), findDivergingNode: true)
        let d = try #require(report.nodeSearch?.divergence)
        #expect(d.node.name == "d_logits" && d.node.op == "softmax_cross_entropy_grad" && d.innerOp == nil)
        #expect(d.node.location?.line == 15)  // the gradient carries the forward loss's line
        #expect(report.nodeSearch?.checks.dropLast().allSatisfy { $0.ownError.passed } == true)
        // The loss itself (computed before the broken gradient) still agrees.
        #expect(report.outputs.first { $0.name == "loss" }?.passed == true)
        #expect(report.state.contains { !$0.passed })
    }

    @Test("a broken reference is reported as the diverging backend")
    func brokenReference() throws {
        let report = try compare(graph: try CompareSupport.graph("mlp.kiln"), backends: (CompareSupport.broken("logits"), .interpreter), findDivergingNode: true)
        let d = try #require(report.nodeSearch?.divergence)
        #expect(d.node.name == "logits" && d.backend == "broken interpreter" && d.innerOp?.name == "logits")
    }

    /// An interpreter that corrupts the updated `w3` after steps >= `from`: wrong, but in no node.
    final class CorruptsState: ExecutionBackend {
        let inner: Interpreter
        let from: Int
        var graph: Graph { inner.graph }
        init(_ graph: Graph, from: Int) throws {
            inner = try Interpreter(graph: graph)
            self.from = from
        }
        func run(inputs: [String: Tensor], state: inout [String: Tensor], step: Int) throws -> [String: Tensor] {
            let outputs = try inner.run(inputs: inputs, state: &state, step: step)
            if step >= from, let w3 = state["w3"] { state["w3"] = w3.copy(); state["w3"]?.floatPointer[0] += 1 }
            return outputs
        }
    }

    @Test("the search runs at the first failing step; a failure outside every node is blamed on the planned graph")
    func failureOutsideNodes() throws {
        let candidate = ComparedBackend(name: "corrupting") { try CorruptsState($0, from: 2) }
        let report = try compare(graph: try CompareSupport.trainingStep("mlp.kiln", "sgd"), backends: (.interpreter, candidate),
                                 steps: 4, findDivergingNode: true)
        #expect(report.state.first { $0.name == "w3" }.map { !$0.passed && $0.step >= 2 } == true)
        let search = try #require(report.nodeSearch)
        #expect(search.step == 2 && search.divergence == nil)
        #expect(search.note.contains("memory plan") && search.note.contains("w3"))
    }

    @Test("an op wrong only in the planned graph (as an aliasing bug would be) is reported as such, not as a node")
    func plannedGraphOnly() throws {
        let candidate = ComparedBackend(name: "plan-sensitive") { graph in
            let interpreter = try Interpreter(graph: graph)
            // The all-values copy keeps nothing in the arena; the planned graph keeps h1 there.
            let planned = graph.memoryPlan?.allocations["h1"] != nil
            interpreter.resultHook = { node, result in if planned && node.name == "h1" { result.floatPointer[0] += 1 } }
            return interpreter
        }
        let report = try compare(graph: try CompareSupport.graph("mlp.kiln"), backends: (.interpreter, candidate), findDivergingNode: true)
        #expect(!report.passed)
        let search = try #require(report.nodeSearch)
        #expect(search.divergence == nil && search.note.contains("memory plan"))
    }

    @Test("drift without a wrong kernel is explained as carried rounding")
    func carriedRounding() throws {
        // A failing step whose replay from the same state agrees everywhere: only the very first run
        // of all (counted across every backend the factory builds) is corrupted.
        final class Runs { var count = 0 }
        final class FirstRunOnly: ExecutionBackend {
            let inner: Interpreter
            let runs: Runs
            var graph: Graph { inner.graph }
            init(_ graph: Graph, _ runs: Runs) throws {
                inner = try Interpreter(graph: graph)
                self.runs = runs
            }
            func run(inputs: [String: Tensor], state: inout [String: Tensor], step: Int) throws -> [String: Tensor] {
                var outputs = try inner.run(inputs: inputs, state: &state, step: step)
                runs.count += 1
                if runs.count == 1, let logits = outputs["logits"] { outputs["logits"] = logits.copy(); outputs["logits"]?.floatPointer[0] += 1 }
                return outputs
            }
        }
        let runs = Runs()
        let report = try compare(graph: try CompareSupport.graph("mlp.kiln"),
                                 backends: (.interpreter, ComparedBackend(name: "flaky") { try FirstRunOnly($0, runs) }), findDivergingNode: true)
        #expect(!report.passed)
        #expect(report.nodeSearch?.divergence == nil)
        #expect(report.nodeSearch?.note.contains("rounding carried") == true)
    }

    @Test("differences each within tolerance that compound within one step are named where they first exceed it")
    func compoundWithinStep() throws {
        let text = """
            graph g {
              input a: f32[2, 4]
              input b: f32[2, 4]
              param w: f32[4, 3] = constant(1000.0)
              d = sub(a, b)
              y = matmul(d, w)
              output y
            }
            """
        let candidate = ComparedBackend(name: "slightly off") { graph in
            let interpreter = try Interpreter(graph: graph)
            interpreter.resultHook = { node, result in if node.name == "d" { result.floatPointer[0] += 5e-6 } }
            return interpreter
        }
        let report = try compare(graph: try inferTypes(try Parser.parse(text, file: "g.kiln")), backends: (.interpreter, candidate),
                                 tolerance: Tolerance(rtol: 0, atol: 1e-5), findDivergingNode: true)
        #expect(!report.passed)
        let search = try #require(report.nodeSearch)
        #expect(search.divergence == nil)
        #expect(search.note.contains("compound within this step") && search.note.contains("y = matmul (line 6)"))
    }
}
