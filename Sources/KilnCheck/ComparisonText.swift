import Foundation
import KilnIR
import KilnRuntime

extension ComparisonReport {
    /// The report as the tables `kiln compare` prints.
    public var text: String {
        var out = "graph \(graphName) (\(sourceFile)): \(candidate) against \(reference), \(steps) step\(steps == 1 ? "" : "s"), "
        out += "rtol \(reportNumber(tolerance.rtol)) atol \(reportNumber(tolerance.atol)) (pass: |\(candidate) − \(reference)| <= atol + rtol·|\(reference)|)\n"
        out += "inputs: \(inputDescription)\n"
        if judgedEachStep {
            out += "judged per step: after step 0 the \(reference) also runs each step from the \(candidate)'s state, so drift that earlier "
            out += "steps' float32 rounding grows into (batch norm, Adam) is told apart from a wrong step; a param or optimiser state that "
            out += "differs even so passes only while the step's outputs agree and its relative RMS difference is at most \(reportNumber(driftRMS))\n"
        }
        if !outputs.isEmpty { out += "\noutputs (worst step)\n" + Self.table(outputs) }
        if !state.isEmpty { out += "\nparams and optimiser state after each update (worst step)\n" + Self.table(state) }
        if let loss { out += "\n" + Self.lossText(loss) }
        if let nodeSearch { out += "\n" + Self.searchText(nodeSearch, reference: reference, candidate: candidate) }
        let failing = (outputs + state).filter { !$0.passed }.count
        func names(_ rows: [TensorDifference]) -> String { rows.prefix(5).map(\.name).joined(separator: ", ") + (rows.count > 5 ? ", …" : "") }
        let drifting = (outputs + state).filter { $0.driftOnly && !$0.flipsOnly }, flipping = (outputs + state).filter(\.flipsOnly)
        var drift = drifting.isEmpty ? "" : "; \(drifting.count) drift beyond it over the steps (\(names(drifting))): "
            + "float32 rounding of earlier steps amplified by the computation (batch norm, Adam), while the step from the same state agrees"
        if !flipping.isEmpty {
            drift += "; \(flipping.count) differ in single elements while the outputs agree (\(names(flipping))): rounding tipped max-pool "
                + "or ReLU choices or Adam's near-zero gradients (relative RMS at most \(reportNumber(driftRMS)))"
        }
        out += "\n" + (passed ? (drifting.isEmpty && flipping.isEmpty ? "PASS: every output and state tensor within tolerance" : "PASS: loss and outputs agree") + drift
                              : "FAIL: \(failing) tensor\(failing == 1 ? "" : "s") outside the tolerance"
                                + (judgedEachStep ? " beyond drift and flips: a wrong result" : "")
                                + (nodeSearch?.divergence != nil ? "; a node diverges" : (nodeSearch == nil ? "; --nodes names the first diverging node" : "")))
        return out + "\n"
    }

    static func table(_ rows: [TensorDifference]) -> String {
        let header = ["name", "type", "max abs", "max rel", "worst at", "reference", "candidate", "ULP", "NaN r/c", "Inf r/c", "step", ""]
        var cells = [header]
        for d in rows {
            cells.append([d.name, d.type, reportNumber(d.maxAbsError), reportNumber(d.maxRelError), "[" + d.worstIndex.map(String.init).joined(separator: ", ") + "]",
                          reportNumber(d.referenceValue, digits: 8), reportNumber(d.candidateValue, digits: 8), "\(d.maxULP)", "\(d.referenceNaN)/\(d.candidateNaN)",
                          "\(d.referenceInf)/\(d.candidateInf)", "\(d.step)",
                          d.flipsOnly ? "ok: flips (\(d.failing) of \(d.elementCount) elements, relative RMS \(reportNumber(d.relativeRMS)))"
                              : d.driftOnly ? "ok: drift (one step from the same state: max abs \(reportNumber(d.oneStepError ?? 0)))"
                              : d.passed ? "ok" : "FAIL (\(d.failing) of \(d.elementCount))"])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in cells { for (i, c) in row.enumerated() { widths[i] = Swift.max(widths[i], c.count) } }
        return cells.map { row in
            "  " + row.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    static func lossText(_ loss: LossDrift) -> String {
        let (gap, at) = loss.largestGap
        var out = "loss '\(loss.name)' over \(loss.reference.count) steps: largest gap \(reportNumber(gap)) at step \(at)\n"
        out += "  step  reference      candidate      gap\n"
        let n = loss.reference.count
        let stride = Swift.max(1, (n + 19) / 20)
        for i in 0..<n where i % stride == 0 || i == n - 1 {
            let a = loss.reference[i], b = i < loss.candidate.count ? loss.candidate[i] : .nan
            out += "  " + "\(i)".padding(toLength: 4, withPad: " ", startingAt: 0) + "  "
                + reportNumber(a, digits: 8).padding(toLength: 13, withPad: " ", startingAt: 0) + "  "
                + reportNumber(b, digits: 8).padding(toLength: 13, withPad: " ", startingAt: 0) + "  " + reportNumber(Swift.abs(a - b)) + "\n"
        }
        return out
    }

    static func searchText(_ search: NodeSearch, reference: String, candidate: String) -> String {
        var out = "nodes at step \(search.step), schedule order: own = \(candidate) against the \(reference)'s kernel on the \(candidate)'s operands; "
        out += "carried = \(candidate) against \(reference) (includes error flowing in)\n" + nodeTable(search.checks, diverging: search.divergence)
        guard let d = search.divergence else {
            out += "nodes: all \(search.nodesChecked) nodes agree at step \(search.step) (each result within tolerance of the \(reference)'s kernel on the same operands)\n"
            if !search.note.isEmpty { out += "  note: \(search.note)\n" }
            return out
        }
        out += "first diverging node (step \(search.step), node \(d.node.index + 1) of the schedule, \(search.nodesChecked) checked): "
        out += "\(d.node.name) = \(d.node.op) on the \(d.backend)\n"
        out += "  source: \(d.node.location.map { "\($0)" } ?? "none (generated by a pass)")\n"
        if let inner = d.innerOp {
            out += "  inside the kernel: \(inner.name) = \(inner.op) (body op \(inner.index + 1)) at \(inner.location.map { "\($0)" } ?? "no source line")"
            if let e = d.innerError { out += ": max abs error \(reportNumber(e.maxAbsError)), worst at [\(e.worstIndex.map(String.init).joined(separator: ", "))] \(reportNumber(e.referenceValue)) vs \(reportNumber(e.candidateValue))" }
            out += "\n"
        }
        if !search.note.isEmpty { out += "  note: \(search.note)\n" }
        out += "  inputs (\(candidate) against \(reference), full runs):\n" + table(d.inputs)
        out += "  output (\(d.backend) against the \(reference)'s kernel on the \(d.backend)'s own operands):\n" + table(d.outputs)
        out += "  output (\(candidate) against \(reference), full runs):\n" + table(d.outputsAgainstReference)
        return out
    }
}

extension ComparisonReport {
    static func nodeTable(_ checks: [NodeCheck], diverging: NodeDivergence?) -> String {
        let header = ["#", "node", "op", "source", "own max abs", "own ULP", "carried max abs", "carried max rel", ""]
        var cells = [header]
        // A long schedule prints only the rows with something to see; --json keeps every row.
        let exact = { (c: NodeCheck) in c.ownError.maxAbsError == 0 && c.carriedError.passed && diverging?.node.index != c.node.index }
        let shown = checks.count > 60 ? checks.filter { !exact($0) } : checks
        for c in shown {
            cells.append(["\(c.node.index)", c.node.name, c.node.op, c.node.location.map { "line \($0.line)" } ?? "-",
                          reportNumber(c.ownError.maxAbsError), "\(c.ownError.maxULP)", reportNumber(c.carriedError.maxAbsError),
                          reportNumber(c.carriedError.maxRelError),
                          diverging?.node.index == c.node.index ? "DIVERGES on the \(diverging?.backend ?? "")" : "ok"])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in cells { for (i, c) in row.enumerated() { widths[i] = Swift.max(widths[i], Swift.min(c.count, 48)) } }
        return cells.map { row in
            "  " + row.enumerated().map { i, c in c.padding(toLength: Swift.max(widths[i], Swift.min(c.count, 48)), withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
            + (shown.count < checks.count ? "  (\(checks.count - shown.count) more nodes exact on their own operands and within tolerance; every row is in --json)\n" : "")
    }
}

/// A number for a table: %.3g, or inf/nan spelled out.
func reportNumber(_ value: Double, digits: Int = 3) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value > 0 ? "inf" : "-inf" }
    return String(format: "%.\(digits)g", value)
}
