import ArgumentParser
import Foundation
import KilnCheck
import KilnIR
import KilnRuntime
import KilnTraining

struct Gradcheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the symbolic gradient of a loss against finite differences, param by param.",
        discussion: """
            For sampled elements of every trainable param, the central difference of the loss (formed in double \
            precision, with a step scaled to the element) is compared with the symbolic gradient on the \
            backend (--backend: interp, the default, or jit, which compiles the gradient graph and the \
            forward graph and runs both as machine code). Prints the worst relative error of each param, |fd − ad| / max(|fd|, |ad|, floor), floor being \
            the larger of 1e-3 and 50 float32 ULPs of the loss over the step (Kiln computes in float32; the \
            differences are formed in double precision). \
            Exit status 1 when any param's worst error is above --tolerance. Inputs not given with --input are \
            seeded random values (floats in [0, 1), labels over the classes the graph implies).
            """)
    @OptionGroup var graph: GraphFile

    @Option(help: "The scalar loss to differentiate.")
    var loss: String

    @Option(name: .customLong("input"), help: "An input: NAME=PATH.npy (repeatable).")
    var inputs: [String] = []

    @Option(parsing: .unconditional, help: "Elements checked per param, 1 to 100000.")
    var samples: Int = 16

    @Option(parsing: .unconditional, help: "Relative finite-difference step, in (0, 0.1].")
    var epsilon: Double = 1e-3

    @Option(parsing: .unconditional, help: "Largest accepted relative error, in (0, 1].")
    var tolerance: Double = 5e-2

    @Option(parsing: .unconditional, help: "Seed of the initialisers and of the random inputs.")
    var seed: UInt64 = 0

    @Option(help: "Backend computing the gradient and the differenced loss: interp (default) or jit.")
    var backend: String = "interp"

    func validate() throws {
        guard (1...100_000).contains(samples) else { throw ValidationError("--samples must be between 1 and 100000, got \(samples)") }
        guard epsilon.isFinite, epsilon > 0, epsilon <= 0.1 else { throw ValidationError("--epsilon must be in (0, 0.1], got \(epsilon)") }
        guard tolerance.isFinite, tolerance > 0, tolerance <= 1 else { throw ValidationError("--tolerance must be in (0, 1], got \(tolerance)") }
        guard BackendKind(rawValue: backend) != nil else { throw ValidationError("unknown backend '\(backend)' (interp or jit)") }
    }

    func run() throws {
        var passed = true
        try reportingErrors {
            let g = try graph.load()
            var feeds = ComparisonInputs.random(for: g, step: 0, seed: seed)
            for (name, path) in try Compare.pairs(inputs, "--input") {
                guard let input = g.input(named: name) else { throw CLIError("--input \(name): the graph has no input '\(name)'") }
                let tensor = try NumPyFormat.read(path: path)
                guard tensor.type == input.type else { throw CLIError("--input \(name): expects \(input.type), the file holds \(tensor.type)") }
                feeds[name] = tensor
            }
            var breaking: OpKind?
            if let name = ProcessInfo.processInfo.environment["KILN_TEST_BREAK_GRADIENT"] {
                guard let op = OpKind(name: name) else { throw CLIError("KILN_TEST_BREAK_GRADIENT: unknown op '\(name)'") }
                breaking = op
            }
            guard let kind = BackendKind(rawValue: backend) else { throw CLIError("unknown backend '\(backend)' (interp or jit)") }
            let checked: ComparedBackend
            switch kind {
            case .interpreter: checked = .interpreter
            case .jit: checked = .jit
            }
            let check = GradientCheck(loss: loss, samples: samples, step: epsilon, breaking: breaking, backend: checked)
            let results = try check.run(g, inputs: feeds, state: initialState(for: g, seed: seed))
            print("gradient check of '\(loss)' in \(g.name) on the \(checked.name): \(results.count) params, relative tolerance \(tolerance)")
            let width = Swift.max(5, results.map(\.param.count).max() ?? 0)
            print("param".padding(toLength: width, withPad: " ", startingAt: 0) + " checked      worst rel err  at       symbolic       numeric        floor")
            for r in results {
                let ok = r.relativeError <= tolerance
                passed = passed && ok
                let row = [r.param.padding(toLength: width, withPad: " ", startingAt: 0),
                           "\(r.checked)/\(r.elements)".padding(toLength: 12, withPad: " ", startingAt: 0),
                           String(format: "%-14.3e", r.relativeError), "[\(r.worstIndex)]".padding(toLength: 8, withPad: " ", startingAt: 0),
                           String(format: "%-14.6g", r.symbolic), String(format: "%-14.6g", r.numeric), String(format: "%-9.2g", r.floor),
                           ok ? "ok" : "FAIL"]
                print(row.joined(separator: " "))
            }
            print(passed ? "passed" : "FAILED: some gradients differ from finite differences by more than \(tolerance)")
        }
        if !passed { throw ExitCode(1) }
    }
}
