import ArgumentParser
import Foundation
import KilnIR
import KilnONNX
import KilnPasses
import KilnRuntime

/// `kiln export FILE.kiln -o MODEL.onnx`: an inference graph as an ONNX model (opset 17).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export an inference graph as an ONNX model (opset 17).",
        discussion: """
            Param values come from --params (a safetensors checkpoint) or else from their \
            initialisers, seeded by --seed. Dropout is removed (evaluation mode).
            """)
    @OptionGroup var graph: GraphFile

    @Option(name: .customLong("params"), help: "A safetensors checkpoint holding param/state values.")
    var checkpoint: String?

    @Option(parsing: .unconditional, help: "Seed of the parameter initialisers (params not in --params).")
    var seed: UInt64 = 0

    @Option(name: .shortAndLong, help: "The .onnx file to write.")
    var output: String

    func validate() throws {
        try OutputPaths.checkFile("--output", output)
        try OutputPaths.checkNotInput("--output", output, inputs: [graph.file, checkpoint])
    }

    func run() throws {
        try reportingErrors {
            let g = try ShapeInference().run(try EvaluationMode().run(try graph.load()))
            var values = initialState(for: g, seed: seed)
            if let checkpoint {
                let tensors = try SafetensorsFormat.read(path: checkpoint).tensors
                let missing = g.params.filter { $0.role == .param && tensors[$0.name] == nil }.map(\.name)
                guard missing.isEmpty else { throw CLIError("--params '\(checkpoint)' has no \(missing.map { "'\($0)'" }.joined(separator: ", "))") }
                for (name, tensor) in tensors where values[name] != nil {
                    if let declared = g.param(named: name), declared.type != tensor.type {
                        throw CLIError("--params '\(checkpoint)': '\(name)' is \(tensor.type), the graph needs \(declared.type)")
                    }
                    values[name] = tensor
                }
            }
            let bytes: [UInt8]
            do { bytes = try ONNXExporter.export(g, params: values) } catch let error as ONNXError { throw CLIError(error.message) }
            try AtomicFile.write(bytes, to: output)
            print("\(output): \(g.nodes.count) nodes, \(g.params.count) initializers, opset \(ONNXExporter.opset)")
        }
    }
}
