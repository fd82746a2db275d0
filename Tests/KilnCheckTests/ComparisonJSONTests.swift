import Foundation
import KilnCheck
import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// The JSON report: documented keys, non-finite numbers, atomic write.
struct ComparisonJSONTests {
    @Test("the JSON report has the documented keys and is written atomically")
    func json() throws {
        let report = try compare(graph: try CompareSupport.trainingStep("mlp.kiln", "sgd"), backends: (.interpreter, CompareSupport.broken("%4")),
                                 steps: 2, findDivergingNode: true)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-compare-\(UInt32.random(in: 0...UInt32.max)).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try report.writeJSON(to: path)
        let data = try #require(FileManager.default.contents(atPath: path))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["graph", "source", "reference", "candidate", "steps", "rtol", "atol", "inputs", "passed",
                                     "judged_each_step", "outputs", "state", "loss", "nodes"])
        #expect(object["passed"] as? Bool == false && object["steps"] as? Int == 2)
        let tensorKeys: Set<String> = ["name", "kind", "type", "step", "max_abs_error", "max_rel_error", "worst_index", "reference_value",
                                       "candidate_value", "max_ulp", "nan", "inf", "failing", "elements", "passed",
                                       "drift_only", "flips_only", "relative_rms", "one_step_max_abs_error"]
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
}
