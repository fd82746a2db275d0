import ArgumentParser
import Foundation
import KilnIR
import KilnRuntime
import KilnTraining

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict with a saved model (kiln train --save-model, Model.save) on the examples of .npy files.",
        discussion: """
            Runs the model's inference graph (no loss, no labels, dropout off, batch norm on its running \
            statistics) on every example, in batches, and writes the primary output (a classifier's \
            probabilities) to -o, or every output to --output-dir. A classifier's first predictions are \
            printed with their class names.
            """)

    @Argument(help: "A saved model (safetensors written by kiln train --save-model or Model.save).")
    var model: String

    @Option(name: .customLong("input"), help: "An input: NAME=PATH.npy of [n, …] examples (repeatable); PATH.npy alone when the model has one input.")
    var inputs: [String] = []

    @Option(name: .shortAndLong, help: "Write the primary output (probabilities of a classifier) here as .npy.")
    var output: String?

    @Option(help: "Write every output as DIR/NAME.npy.")
    var outputDir: String?

    @Option(help: "Backend: jit (default) or interp.")
    var backend: String = "jit"

    @Option(parsing: .unconditional, help: "Examples per run of the inference graph (1-65536; default: the training batch).")
    var batch: Int?

    @Option(parsing: .unconditional, help: "How many predictions to print (0-1000000).")
    var show: Int = 10

    func validate() throws {
        guard BackendKind(rawValue: backend) != nil else { throw ValidationError("unknown backend '\(backend)' (interp or jit)") }
        if let batch, !(1...65536).contains(batch) { throw ValidationError("--batch must be between 1 and 65536, got \(batch)") }
        guard (0...1_000_000).contains(show) else { throw ValidationError("--show must be between 0 and 1000000, got \(show)") }
        guard !inputs.isEmpty else { throw ValidationError("give the examples with --input NAME=PATH.npy") }
        try OutputPaths.checkFile("--output", output)
        try OutputPaths.checkDirectory("--output-dir", outputDir)
        if let output { try OutputPaths.checkNotInput("--output", output, inputs: [model] + inputs.map { Self.split($0).path }) }
    }

    static func split(_ item: String) -> (name: String?, path: String) {
        guard let eq = item.firstIndex(of: "="), eq != item.startIndex else { return (nil, item) }
        return (String(item[..<eq]), String(item[item.index(after: eq)...]))
    }

    func run() throws {
        try reportingErrors {
            guard let kind = BackendKind(rawValue: backend) else { throw CLIError("unknown backend '\(backend)' (interp or jit)") }
            let loaded = try Model(contentsOf: model, backend: kind, batchSize: batch)
            var feeds: [String: Tensor] = [:]
            for item in inputs {
                let (given, path) = Self.split(item)
                guard let name = given ?? (loaded.inputs.count == 1 ? loaded.inputs.first?.name : nil) else {
                    throw CLIError("--input '\(item)': the model has \(loaded.inputs.count) inputs (\(loaded.inputs.map(\.name).joined(separator: ", "))): write NAME=PATH.npy")
                }
                guard feeds[name] == nil else { throw CLIError("--input \(name) is given twice") }
                do { feeds[name] = try NumPyFormat.read(path: path) } catch let d as Diagnostic { throw CLIError("--input \(name): \(d.message)") }
            }
            let outputs: [String: Tensor]
            do { outputs = try loaded.predictAll(feeds) } catch let d as Diagnostic { throw CLIError(d.message) }
            if let output {
                guard let primary = loaded.primaryOutput, let tensor = outputs[primary] else {
                    throw CLIError("-o: model '\(loaded.graph.name)' has no single primary output (\(loaded.outputs.joined(separator: ", "))); use --output-dir")
                }
                try NumPyFormat.write(tensor, to: output)
            }
            if let outputDir {
                let set = try OutputSet(directory: outputDir)
                for name in loaded.outputs { if let tensor = outputs[name] { try set.add("\(name).npy", bytes: NumPyFormat.encode(tensor)) } }
                try set.commit()
            }
            for name in loaded.outputs { if let tensor = outputs[name] { print("\(name): \(tensor.type)") } }
            printClasses(loaded, outputs)
        }
    }

    /// The first `show` predictions of a classifier: class (name) and its probability.
    private func printClasses(_ model: Model, _ outputs: [String: Tensor]) {
        guard let name = model.inferenceGraph.output(withRole: .probabilities), let p = outputs[name], p.shape.rank == 2 else { return }
        let (n, classes) = (p.shape[0], p.shape[1])
        for row in 0..<Swift.min(n, show) {
            let values = Array(UnsafeBufferPointer(start: p.floatPointer + row * classes, count: classes))
            guard let best = values.indices.max(by: { values[$0] < values[$1] }) else { continue }
            let label = best < model.classNames.count ? " \(model.classNames[best])" : ""
            print(String(format: "%d: class %d%@ (p = %.4f)", row, best, label, values[best]))
        }
        if n > show { print("… \(n - show) more") }
    }
}
