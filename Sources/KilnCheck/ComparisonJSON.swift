import Foundation
import KilnIR
import KilnRuntime
import KilnSupport

/// The JSON form of a comparison report (`kiln compare --json`). Keys are snake_case; numbers
/// that JSON cannot hold (infinities, NaN) are the strings "inf", "-inf", "nan"; a source
/// location is "file:line:col" or null. Top level: graph, source, reference, candidate, steps,
/// rtol, atol, inputs, passed, outputs, state, loss, nodes.
extension ComparisonReport {
    /// The report as pretty-printed JSON text.
    public var json: String {
        var fields: [(String, String)] = [
            ("graph", JSONText.quoted(graphName)), ("source", JSONText.quoted(sourceFile)),
            ("reference", JSONText.quoted(reference)), ("candidate", JSONText.quoted(candidate)),
            ("steps", "\(steps)"), ("rtol", jsonNumber(tolerance.rtol)), ("atol", jsonNumber(tolerance.atol)),
            ("inputs", JSONText.quoted(inputDescription)), ("passed", "\(passed)"), ("judged_each_step", "\(judgedEachStep)"),
            ("outputs", jsonArray(outputs.map(Self.tensorJSON))), ("state", jsonArray(state.map(Self.tensorJSON))),
        ]
        if let loss {
            let (gap, at) = loss.largestGap
            fields.append(("loss", jsonObject([
                ("name", JSONText.quoted(loss.name)), ("reference", jsonArray(loss.reference.map(jsonNumber))),
                ("candidate", jsonArray(loss.candidate.map(jsonNumber))), ("max_gap", jsonNumber(gap)), ("max_gap_step", "\(at)"),
            ])))
        } else {
            fields.append(("loss", "null"))
        }
        fields.append(("nodes", nodeSearch.map(Self.searchJSON) ?? "null"))
        return jsonObject(fields) + "\n"
    }

    /// Writes `json` to `path` atomically (a temporary file renamed over it), so a script never
    /// reads half a report.
    public func writeJSON(to path: String) throws {
        try AtomicFile.write(Array(json.utf8), to: path)
    }

    static func tensorJSON(_ d: TensorDifference) -> String {
        jsonObject([
            ("name", JSONText.quoted(d.name)), ("kind", JSONText.quoted(d.kind.rawValue)), ("type", JSONText.quoted(d.type)),
            ("step", "\(d.step)"), ("max_abs_error", jsonNumber(d.maxAbsError)), ("max_rel_error", jsonNumber(d.maxRelError)),
            ("worst_index", jsonArray(d.worstIndex.map(String.init))), ("reference_value", jsonNumber(d.referenceValue)),
            ("candidate_value", jsonNumber(d.candidateValue)), ("max_ulp", "\(d.maxULP)"),
            ("nan", jsonObject([("reference", "\(d.referenceNaN)"), ("candidate", "\(d.candidateNaN)")])),
            ("inf", jsonObject([("reference", "\(d.referenceInf)"), ("candidate", "\(d.candidateInf)")])),
            ("failing", "\(d.failing)"), ("elements", "\(d.elementCount)"), ("passed", "\(d.passed)"),
            ("drift_only", "\(d.driftOnly)"), ("flips_only", "\(d.flipsOnly)"), ("relative_rms", jsonNumber(d.relativeRMS)), ("one_step_max_abs_error", d.oneStepError.map(jsonNumber) ?? "null"),
        ])
    }

    static func identityJSON(_ n: NodeIdentity) -> String {
        jsonObject([("name", JSONText.quoted(n.name)), ("op", JSONText.quoted(n.op)), ("index", "\(n.index)"),
                    ("location", n.location.map { JSONText.quoted("\($0)") } ?? "null")])
    }

    static func searchJSON(_ s: NodeSearch) -> String {
        var divergence = "null"
        if let d = s.divergence {
            divergence = jsonObject([
                ("node", identityJSON(d.node)), ("backend", JSONText.quoted(d.backend)),
                ("inner_op", d.innerOp.map(identityJSON) ?? "null"), ("inner_error", d.innerError.map(tensorJSON) ?? "null"),
                ("inputs", jsonArray(d.inputs.map(tensorJSON))), ("outputs", jsonArray(d.outputs.map(tensorJSON))),
                ("outputs_against_reference", jsonArray(d.outputsAgainstReference.map(tensorJSON))),
            ])
        }
        let checks = s.checks.map { c in
            jsonObject([("node", identityJSON(c.node)), ("own_error", tensorJSON(c.ownError)), ("carried_error", tensorJSON(c.carriedError))])
        }
        return jsonObject([("step", "\(s.step)"), ("checked", "\(s.nodesChecked)"), ("note", JSONText.quoted(s.note)),
                           ("divergence", divergence), ("checks", jsonArray(checks))])
    }
}

private func jsonNumber(_ value: Double) -> String {
    if value.isNaN { return "\"nan\"" }
    if value.isInfinite { return value > 0 ? "\"inf\"" : "\"-inf\"" }
    if value == value.rounded(), Swift.abs(value) < 1e15 { return String(format: "%.1f", value) }
    return "\(value)"
}

private func jsonArray(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }

private func jsonObject(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\(JSONText.quoted($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
}
