import ArgumentParser
import Foundation
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import KilnSupport

/// `kiln compile`: an ahead-of-time bundle a C program links (Docs/AOT.md).
struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile a graph ahead of time into a bundle a C program links: lib<name>.a, <name>.h, <name>_runtime.c.",
        discussion: """
            Without --train the bundle runs the graph's inference form (dropout off, batch norm on its running \
            statistics, loss and label inputs dropped, a classifier's probabilities added); with --train LOSS one run \
            is one training step with --optimizer. Params start from --params (a safetensors checkpoint, e.g. from \
            kiln train --checkpoint) or their initialisers (--seed). The bundle needs libc, libm, pthreads and \
            OpenBLAS when its kernels call cblas_sgemm: no Swift runtime, no LLVM. Files are written all or none.
            """)
    @OptionGroup var graph: GraphFile

    @Option(name: .shortAndLong, help: "Directory to write the bundle into (created if missing).")
    var output: String

    @Option(name: .customLong("train"), help: "Compile a training step minimising this scalar loss.")
    var trainLoss: String?

    @Option(help: "Optimizer for --train: sgd|momentum|nesterov|rmsprop|adam|adagrad[:lr=…,…].")
    var optimizer: String = "sgd"

    @Option(name: .customLong("params"), help: "A safetensors checkpoint holding param (and optimiser state) values.")
    var checkpoint: String?

    @Option(parsing: .unconditional, help: "Seed of the initialisers of params the checkpoint does not give.")
    var seed: UInt64 = 0

    @Option(help: "LLVM target triple, e.g. x86_64-linux-gnu or aarch64-linux-gnu (default: this machine).")
    var target: String?

    @Option(help: "CPU to generate code for, e.g. skylake, znver3, neoverse-n1 (default: this CPU without --target, else generic).")
    var cpu: String?

    @Option(help: "Prefix of the bundle's C names and files: a C identifier (default: the graph's name).")
    var name: String?

    @Option(parsing: .unconditional, help: "Batch size (1-65536); the graph is re-specialised to it (default: the graph's).")
    var batch: Int?

    @Option(help: "embed: weights inside the library; file: beside it as <name>.safetensors.")
    var weights: String = "embed"

    func validate() throws {
        guard !output.isEmpty else { throw ValidationError("-o needs a directory path, got an empty one") }
        guard weights == "embed" || weights == "file" else { throw ValidationError("--weights must be embed or file, got '\(weights)'") }
        if let name, let problem = BundleOptions.problem(withName: name) { throw ValidationError("--name: \(problem)") }
        if trainLoss == nil, optimizer != "sgd" { throw ValidationError("--optimizer needs --train") }
        do { _ = try Optimizer.parse(optimizer) } catch let d as Diagnostic { throw ValidationError("--optimizer: \(d.message)") }
        if let batch, !(1...65536).contains(batch) { throw ValidationError("--batch must be between 1 and 65536, got \(batch)") }
        if let target, target.isEmpty { throw ValidationError("--target needs a triple, got an empty one") }
        if let cpu, cpu.isEmpty { throw ValidationError("--cpu needs a CPU name, got an empty one") }
        var st = stat()
        if lstat(output, &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR {
            throw ValidationError("-o '\(output)' exists and is not a directory")
        }
    }

    func run() throws {
        try reportingErrors {
            var forward = try graph.load()
            if let batch, let from = forward.inputs.first?.type.shape.dims.first, from != batch {
                forward = try BatchSpecialization(from: from, to: batch).run(forward)
            }
            let bundleName = try name ?? defaultName(forward.name)
            var g: Graph
            var defaults: [String: Float] = [:]
            if let loss = trainLoss {
                let optimizer = try Optimizer.parse(self.optimizer)
                g = try TrainingStep(loss: loss, optimizer: optimizer).run(forward)
                if g.inputs.contains(where: { $0.name == TrainingStep.learningRateInput }) {
                    defaults[TrainingStep.learningRateInput] = Float(optimizer.learningRate)
                }
            } else {
                g = try InferenceGraph().run(forward)
            }
            g = try OptimizingPipeline.run(g)
            var state = initialState(for: g, seed: seed)
            if let checkpoint {
                let tensors = try SafetensorsFormat.read(path: checkpoint).tensors
                let missing = g.params.filter { $0.role == .param && tensors[$0.name] == nil }.map(\.name)
                guard missing.isEmpty else {
                    throw CLIError("--params '\(checkpoint)' has no \(missing.map { "'\($0)'" }.joined(separator: ", "))")
                }
                let fresh = g.params.filter { tensors[$0.name] == nil }.map(\.name)
                if !fresh.isEmpty {
                    FileHandleOutput.standardError.write("note: --params '\(checkpoint)' has no state \(fresh.joined(separator: ", ")); initialised\n")
                }
                for param in g.params {
                    guard let t = tensors[param.name] else { continue }
                    guard t.type == param.type else {
                        throw CLIError("--params '\(checkpoint)': '\(param.name)' is \(t.type), the graph needs \(param.type)")
                    }
                    state[param.name] = t
                }
            }
            let options = BundleOptions(name: bundleName, triple: target, cpu: cpu, embedWeights: weights == "embed", defaults: defaults)
            let bundle = try BundleCompiler.compile(g, state: state, options: options)
            // All files or none: a failure part-way leaves the directory as it was.
            let set = try OutputSet(directory: output)
            for file in bundle.files { try set.add(file.name, bytes: file.bytes) }
            try set.commit()
            print("bundle \(bundleName) (\(g.name), \(trainLoss == nil ? "inference" : "training step")) for \(bundle.triple) \(bundle.cpu): "
                  + "\(bundle.compiledKernels) nodes, \(bundle.sgemmCalls) sgemm calls per step, "
                  + "\(bundle.fromCache ? "from the object cache" : String(format: "compiled in %.2f s", bundle.seconds))")
            for file in bundle.files { print("  \(output)/\(file.name)  \(file.bytes.count) bytes") }
        }
    }

    /// The graph's name when it is a usable C prefix.
    private func defaultName(_ graphName: String) throws -> String {
        if BundleOptions.problem(withName: graphName) == nil { return graphName }
        throw CLIError("the graph's name '\(graphName)' cannot prefix C names: give one with --name")
    }
}
