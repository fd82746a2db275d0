import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// `compare(graph:backends:…)` with the interpreter on both sides: identical backends agree
/// exactly; an interpreter with one op broken on purpose (its test hook) is caught at that op.
struct CompareTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func graph(_ file: String) throws -> Graph {
        let path = root.appendingPathComponent("Graphs/\(file)").path
        return try inferTypes(try Parser.parse(try String(contentsOfFile: path, encoding: .utf8), file: "Graphs/\(file)"))
    }

    static func trainingStep(_ file: String, _ optimizer: String = "adam") throws -> Graph {
        try TrainingStep(loss: "loss", optimizer: try Optimizer.parse(optimizer)).run(try graph(file))
    }

    /// An interpreter that adds `delta` to the first element of the value `name` whenever it computes it.
    static func broken(_ name: String, delta: Float = 1) -> ComparedBackend {
        ComparedBackend(name: "broken interpreter") { graph in
            let interpreter = try Interpreter(graph: graph)
            interpreter.resultHook = { node, result in
                if node.name == name { result.floatPointer[0] += delta }
            }
            return interpreter
        }
    }

    @Test("identical backends: zero error everywhere, the loss curves coincide, every node agrees")
    func identical() throws {
        let report = try compare(graph: try Self.trainingStep("mlp.kiln"), backends: (.interpreter, .interpreter), steps: 3,
                                 findDivergingNode: true)
        #expect(report.passed)
        #expect(report.outputs.map(\.name) == ["loss", "logits"])
        #expect(report.state.count == 19)  // 6 params, 12 moments, the step counter
        for d in report.outputs + report.state {
            #expect(d.maxAbsError == 0 && d.maxULP == 0 && d.failing == 0, "\(d.name)")
        }
        #expect(report.state.first { $0.name == "w1" }?.kind == .param)
        #expect(report.state.first { $0.name == "m_w1" }?.kind == .state)
        let loss = try #require(report.loss)
        #expect(loss.reference.count == 3 && loss.reference == loss.candidate && loss.largestGap.gap == 0)
        let search = try #require(report.nodeSearch)
        #expect(search.divergence == nil && search.nodesChecked == search.checks.count && search.nodesChecked > 10)
        #expect(search.checks.allSatisfy { $0.ownError.maxAbsError == 0 && $0.carriedError.maxAbsError == 0 })
    }

    @Test("a broken op inside a fused kernel is named: the kernel, the op in its body, both source lines")
    func brokenFusedOp() throws {
        // mlp.kiln line 13: h2 = relu(add(matmul(h1, w2), b2)); %4 is the add, fused with the matmul and relu.
        let report = try compare(graph: try Self.trainingStep("mlp.kiln"), backends: (.interpreter, Self.broken("%4")),
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
        let g = try Self.trainingStep("mlp.kiln", "sgd")
        let report = try compare(graph: g, backends: (.interpreter, Self.broken("d_logits", delta: 0.5)), findDivergingNode: true)
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
        let report = try compare(graph: try Self.graph("mlp.kiln"), backends: (Self.broken("logits"), .interpreter), findDivergingNode: true)
        let d = try #require(report.nodeSearch?.divergence)
        #expect(d.node.name == "logits" && d.backend == "broken interpreter" && d.innerOp?.name == "logits")
    }

    @Test("realistic inputs: labels span every class the logits imply, floats in [0, 1), fresh per step")
    func inputs() throws {
        let g = try Self.graph("mlp.kiln")
        #expect(ComparisonInputs.classRanges(g) == ["labels": 10])
        let step0 = ComparisonInputs.random(for: g, step: 0), step1 = ComparisonInputs.random(for: g, step: 1)
        let labels = try #require(step0["labels"]).ints
        #expect(Set(labels) == Set(0..<10))
        let x = try #require(step0["x"]).floats
        #expect(x.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(step1["x"]?.floats != x)
        #expect(ComparisonInputs.random(for: g, step: 0)["x"]?.floats == x)
    }

    @Test("the JSON report has the documented keys and is written atomically")
    func json() throws {
        let report = try compare(graph: try Self.trainingStep("mlp.kiln", "sgd"), backends: (.interpreter, Self.broken("%4")),
                                 steps: 2, findDivergingNode: true)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-compare-\(UInt32.random(in: 0...UInt32.max)).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try report.writeJSON(to: path)
        let data = try #require(FileManager.default.contents(atPath: path))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["graph", "source", "reference", "candidate", "steps", "rtol", "atol", "inputs", "passed",
                                     "outputs", "state", "loss", "nodes"])
        #expect(object["passed"] as? Bool == false && object["steps"] as? Int == 2)
        let tensorKeys: Set<String> = ["name", "kind", "type", "step", "max_abs_error", "max_rel_error", "worst_index", "reference_value",
                                       "candidate_value", "max_ulp", "nan", "inf", "failing", "elements", "passed"]
        let outputs = try #require(object["outputs"] as? [[String: Any]])
        #expect(outputs.allSatisfy { Set($0.keys) == tensorKeys })
        let state = try #require(object["state"] as? [[String: Any]])
        #expect(state.count == 6 && state.allSatisfy { Set($0.keys) == tensorKeys })
        let loss = try #require(object["loss"] as? [String: Any])
        #expect(Set(loss.keys) == ["name", "reference", "candidate", "max_gap", "max_gap_step"])
        let nodes = try #require(object["nodes"] as? [String: Any])
        #expect(Set(nodes.keys) == ["step", "checked", "note", "divergence", "checks"])
        let divergence = try #require(nodes["divergence"] as? [String: Any])
        #expect(Set(divergence.keys) == ["node", "backend", "inner_op", "inner_error", "inputs", "outputs", "outputs_against_reference"])
        let node = try #require(divergence["node"] as? [String: Any])
        #expect(node["name"] as? String == "h2" && node["location"] as? String == "Graphs/mlp.kiln:13:8")
        // No temporary file is left next to the report.
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(".kiln-compare-") }
        #expect(leftovers.isEmpty)
    }

    @Test("non-finite numbers are strings in the JSON")
    func jsonNonFinite() throws {
        var report = ComparisonReport(graphName: "g", sourceFile: "g.kiln", reference: "a", candidate: "b", steps: 1,
                                      tolerance: Tolerance(), inputDescription: "given")
        report.loss = LossDrift(name: "loss", reference: [.nan], candidate: [.infinity])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        let loss = try #require(object["loss"] as? [String: Any])
        #expect(loss["reference"] as? [String] == ["nan"] && loss["max_gap"] as? String == "inf")
    }

    @Test("bad options are diagnostics, not traps")
    func validation() throws {
        let g = try Self.graph("mlp.kiln")
        #expect(throws: Diagnostic.self) { try compare(graph: g, backends: (.interpreter, .interpreter), steps: 0) }
        #expect(throws: Diagnostic.self) {
            try compare(graph: g, backends: (.interpreter, .interpreter), tolerance: Tolerance(rtol: -1, atol: 0))
        }
        #expect(throws: Diagnostic.self) { try compare(graph: g, backends: (.interpreter, .interpreter), loss: "h1") }
        #expect(throws: Diagnostic.self) { try compare(graph: g, backends: (.interpreter, .interpreter), state: [:]) }
    }
}
