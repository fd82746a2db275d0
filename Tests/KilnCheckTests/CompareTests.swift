import Foundation
import KilnCheck
import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// `compare(graph:backends:…)` with the interpreter on both sides: identical backends agree exactly.
struct CompareTests {
    @Test("identical backends: zero error everywhere, the loss curves coincide, every node agrees")
    func identical() throws {
        let report = try compare(graph: try CompareSupport.trainingStep("mlp.kiln"), backends: (.interpreter, .interpreter), steps: 3,
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

    @Test("bad options are diagnostics, not traps")
    func validation() throws {
        let g = try CompareSupport.graph("mlp.kiln")
        #expect(throws: Diagnostic.self) { try compare(graph: g, backends: (.interpreter, .interpreter), steps: 0) }
        #expect(throws: Diagnostic.self) {
            try compare(graph: g, backends: (.interpreter, .interpreter), tolerance: Tolerance(rtol: -1, atol: 0))
        }
        #expect(throws: Diagnostic.self) { try compare(graph: g, backends: (.interpreter, .interpreter), loss: "h1") }
        #expect(throws: Diagnostic.self) { try compare(graph: g, backends: (.interpreter, .interpreter), state: [:]) }
    }
}
