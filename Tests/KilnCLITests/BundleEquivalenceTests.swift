import Foundation
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing

/// Bundles of zoo graphs against the JIT: `kiln compile` (inference, or an Adam training step),
/// a generic C driver (Tests/Support/bundle_driver.c) running three steps on fixed inputs, and
/// `JITBackend` running the same graph from the same state — every output and param compared.
/// The graphs cover convolution, dropout (random ops fed the step number), recurrent cells,
/// attention and sampling (random_normal).
@Suite("bundles equal the JIT", .serialized)
struct BundleEquivalenceTests {
    static let driver = repositoryRoot.appendingPathComponent("Tests/Support/bundle_driver.c").path

    @Test("three steps of a bundle equal three JIT steps", .enabled(if: CompileCommandTests.ccAvailable), arguments: [
        ("lenet5_dropout", true), ("lstm", true), ("transformer", true), ("vae", true), ("rnn", true),
        ("transformer", false), ("lstm", false),
    ])
    func equalsJIT(_ graphName: String, _ training: Bool) throws {
        let path = repositoryRoot.appendingPathComponent("Graphs/\(graphName).kiln").path
        let directory = makeTemporaryDirectory()
        let optimizer = "adam:lr=0.01"
        let forward = try ShapeInference().run(try Parser.parse(String(contentsOfFile: path, encoding: .utf8), file: path))
        var g: Graph
        var arguments = ["compile", path, "--name", "b", "-o", directory]
        if training {
            let loss = try #require(InferenceGraph.lossOutputs(of: forward).first)
            g = try TrainingStep(loss: loss, optimizer: try Optimizer.parse(optimizer)).run(forward)
            arguments += ["--train", loss, "--optimizer", optimizer]
        } else {
            g = try InferenceGraph().run(forward)
        }
        g = try MemoryPlanner().run(try Fusion().run(try Simplify().run(g)))
        let compiled = try runKiln(arguments)
        try #require(compiled.status == 0, "\(compiled.err)")

        // Inputs: floats in [0, 1) from a fixed sequence, integers (labels, token ids) 0.
        var feeds: [String: Tensor] = [:]
        var seed: UInt64 = 12345
        for (i, input) in g.inputs.enumerated() {
            let tensor: Tensor
            if input.type.dtype == .f32 {
                tensor = Tensor(input.type.shape, floats: (0..<input.type.elementCount).map { _ in
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    return Float(seed >> 40) / Float(1 << 24)
                })
            } else {
                tensor = Tensor(zeros: input.type)
            }
            if input.name == TrainingStep.learningRateInput { feeds[input.name] = .scalar(0.01) } else { feeds[input.name] = tensor }
            let bytes = try #require(feeds[input.name])
            try Data(bytes: bytes.storage.pointer, count: input.type.byteCount).write(to: URL(fileURLWithPath: "\(directory)/input_\(i).bin"))
        }
        let binary = "\(directory)/driver"
        let cc = try CompileCommandTests.run("/usr/bin/cc", ["-O2", "-std=c11", "-Wall", "-Werror", "-DBUNDLE=b", "-DHEADER=\"b.h\"", "-I", directory,
                                                             "-o", binary, Self.driver, "\(directory)/b_runtime.c", "-L", directory, "-lb",
                                                             "-lopenblas", "-lm", "-lpthread"])
        try #require(cc.status == 0, "\(cc.output)")
        let run = try CompileCommandTests.run(binary, [directory, "3"])
        try #require(run.status == 0, "\(run.output)")

        let backend = try JITBackend(graph: g)
        var state = initialState(for: g, seed: 0)
        var outputs: [String: Tensor] = [:]
        for step in 0..<3 { outputs = try backend.run(inputs: feeds, state: &state, step: step) }
        func compare(_ name: String, _ expected: Tensor?, _ file: String) throws {
            let expected = try #require(expected, "the JIT has no \(name)")
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(file)"))
            #expect(data.count == expected.type.byteCount, "\(name)")
            if expected.type.dtype == .i32 {
                let got = data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
                #expect(got == expected.ints, "\(graphName) \(name)")
                return
            }
            let got = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let want = expected.floats
            let scale = want.reduce(Float(0)) { Swift.max($0, abs($1)) }
            let worst = zip(got, want).reduce(Float(0)) { Swift.max($0, abs($1.0 - $1.1)) }
            #expect(worst <= 1e-5 * Swift.max(scale, 1), "\(graphName) \(name): bundle and JIT differ by \(worst) (scale \(scale))")
        }
        for (i, name) in g.outputs.enumerated() { try compare(name, outputs[name], "output_\(i).bin") }
        for (i, param) in g.params.enumerated() { try compare(param.name, state[param.name], "param_\(i).bin") }
    }
}
