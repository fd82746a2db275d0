import Foundation
import KilnCheck
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing

/// `compare(graph:backends:…)` with the JIT as the candidate, through its public API only.
struct CompareJITTests {
    static let jit = ComparedBackend(name: "jit") { try JITBackend(graph: $0) }

    static func trainingStep(_ file: String, _ optimizer: String) throws -> Graph {
        let path = BackendEquivalenceTests.root.appendingPathComponent("Graphs/\(file)").path
        let forward = try inferTypes(try Parser.parse(try String(contentsOfFile: path, encoding: .utf8), file: "Graphs/\(file)"))
        return try TrainingStep(loss: "loss", optimizer: try Optimizer.parse(optimizer)).run(forward)
    }

    @Test("20 Adam steps of the MLP: every param and moment within the default tolerance, the loss curves within 1e-5")
    func mlpTraining() throws {
        // Adam's own default learning rate, as `kiln compare --optimizer adam` feeds it: at 0.01 on random
        // data the loss jumps to 14 and single weights whose gradient is noise drift apart.
        let g = try Self.trainingStep("mlp.kiln", "adam")
        let report = try compare(graph: g, backends: (.interpreter, Self.jit), steps: 20,
                                 feeds: { ComparisonInputs.random(for: g, step: $0, learningRate: 0.001) })
        #expect(report.steps == 20 && report.tolerance == Tolerance(rtol: 1e-4, atol: 1e-5))
        #expect(report.state.count == 19)
        for d in report.state { #expect(d.passed, "\(d.name): max abs \(d.maxAbsError) at \(d.worstIndex)") }
        for d in report.outputs { #expect(d.passed, "\(d.name): max abs \(d.maxAbsError)") }
        for d in report.outputs + report.state { #expect(d.referenceNaN + d.candidateNaN + d.referenceInf + d.candidateInf == 0) }
        let loss = try #require(report.loss)
        #expect(loss.reference.count == 20 && loss.largestGap.gap < 1e-5)
        #expect(report.passed)
    }

    @Test("every node of the MLP's training step agrees with the interpreter's kernel on the JIT's operands")
    func mlpNodes() throws {
        let report = try compare(graph: try Self.trainingStep("mlp.kiln", "momentum"), backends: (.interpreter, Self.jit),
                                 findDivergingNode: true)
        let search = try #require(report.nodeSearch)
        #expect(search.divergence == nil && search.note.isEmpty)
        #expect(search.checks.count == search.nodesChecked && search.nodesChecked > 10)
        #expect(search.checks.allSatisfy { $0.ownError.passed })
    }

    @Test("an op broken on the interpreter side is found against the JIT, with the JIT compiling the cones of the kernel")
    func brokenAgainstJIT() throws {
        let broken = ComparedBackend(name: "broken interpreter") { graph in
            let interpreter = try Interpreter(graph: graph)
            interpreter.resultHook = { node, result in if node.name == "%3" { result.floatPointer[5] *= 2 } }
            return interpreter
        }
        // mlp.kiln line 13: %3 is matmul(h1, w2) inside h2's fused matmul+add+relu kernel.
        let report = try compare(graph: try Self.trainingStep("mlp.kiln", "sgd"), backends: (broken, Self.jit), findDivergingNode: true)
        let d = try #require(report.nodeSearch?.divergence)
        #expect(d.node.name == "h2" && d.backend == "broken interpreter" && d.node.location?.line == 13)
        #expect(d.innerOp?.name == "%3" && d.innerOp?.op == "matmul")
        #expect(d.inputs.allSatisfy { $0.passed })
    }
}
