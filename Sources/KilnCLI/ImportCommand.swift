import ArgumentParser
import Foundation
import KilnIR
import KilnONNX
import KilnPasses
import KilnRuntime

/// `kiln import MODEL.onnx`: an ONNX model as a `.kiln` graph plus a safetensors checkpoint of
/// its initializers (the params) and import-time constants (state), for `--params`.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import an ONNX model: write OUT.kiln and its weights as OUT.safetensors.",
        discussion: """
            Dynamic dimensions must be fixed with --shape NAME=D0xD1x… (Kiln's shapes are static); \
            an input whose value decides a shape (TopK's k, a Reshape target) can be given one with --bind. \
            Initializers become params (trainable); run the graph with --params OUT.safetensors.
            """)

    @Argument(help: "The .onnx model.")
    var model: String = ""

    @Flag(help: "List the ONNX op types Kiln imports, one per line, and exit.")
    var listOps = false

    @Option(name: .shortAndLong, help: "The .kiln file to write (default: the model's name with .kiln); the weights go beside it as .safetensors.")
    var output: String?

    @Option(name: .customLong("shape"), help: "An input's full shape: NAME=1x3x224x224 (repeatable).")
    var shapes: [String] = []

    @Option(name: .customLong("bind"), help: ArgumentHelp("Give an input a value at import time: NAME=FILE.npy or NAME=FILE.pb (an ONNX TensorProto); the input becomes a constant (repeatable).", valueName: "NAME=FILE"))
    var bindings: [String] = []

    func validate() throws {
        if !listOps && model.isEmpty { throw ValidationError("missing the .onnx model to import") }
        guard !listOps else { return }
        let (graphPath, weightsPath) = try outputPaths()
        try OutputPaths.checkFile("--output", graphPath)
        try OutputPaths.checkFile("--output (weights)", weightsPath)
        try OutputPaths.checkNotInput("--output", graphPath, inputs: [model])
        try OutputPaths.checkNotInput("--output (weights)", weightsPath, inputs: [model])
    }

    /// The `.kiln` file and its weights beside it: `-o DIR/NAME.kiln` → `DIR/NAME.safetensors`.
    /// The extension is replaced within the last path component only, so `-o sub/` or `-o .`
    /// can never turn into a file in the parent directory (they are refused as directories).
    func outputPaths() throws -> (graph: String, weights: String) {
        let graphPath = output ?? (URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent + ".kiln")
        guard !graphPath.isEmpty else { throw ValidationError("--output: cannot write to an empty path") }
        let slash = graphPath.lastIndex(of: "/").map { graphPath.index(after: $0) } ?? graphPath.startIndex
        let name = graphPath[slash...]
        guard !name.isEmpty, name != ".", name != ".." else {
            throw ValidationError("--output '\(graphPath)' names a directory; give the .kiln file to write")
        }
        var stem = name
        if let dot = name.lastIndex(of: "."), dot != name.startIndex { stem = name[..<dot] }
        let weightsPath = String(graphPath[..<slash]) + stem + ".safetensors"
        guard weightsPath != graphPath else {
            throw ValidationError("--output '\(graphPath)' is where the weights go; give the .kiln file to write (e.g. \(stem).kiln)")
        }
        return (graphPath, weightsPath)
    }

    /// `text` safe inside a `#` comment line: ONNX names and file names are arbitrary strings,
    /// and a newline in one (`"x\n}\ngraph evil {"`) would end the comment and put the rest
    /// into the graph text. Control characters and line separators are written as `U+XXXX`.
    static func commentText(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let breaks = scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .lineSeparator
                || scalar.properties.generalCategory == .paragraphSeparator || scalar.properties.generalCategory == .format
            out += breaks ? String(format: "U+%04X", scalar.value) : String(scalar)
        }
        return out
    }

    func run() throws {
        if listOps {
            for op in ONNXImporter.supportedOps { print(op) }
            return
        }
        try reportingErrors {
            var given: [String: [Int]] = [:]
            for item in shapes {
                guard let eq = item.lastIndex(of: "="), eq != item.startIndex else { throw CLIError("--shape '\(item)': expected NAME=D0xD1x…") }
                let name = String(item[..<eq]), text = item[item.index(after: eq)...]
                let dims = text.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
                guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) > 0 }) else {
                    throw CLIError("--shape \(name): '\(text)' is not a list of positive sizes like 1x3x224x224")
                }
                guard given[name] == nil else { throw CLIError("--shape \(name) is given twice") }
                given[name] = dims.compactMap { $0 }
            }
            var bound: [String: ONNXBinding] = [:]
            for item in bindings {
                guard let eq = item.firstIndex(of: "="), eq != item.startIndex, item.index(after: eq) != item.endIndex else {
                    throw CLIError("--bind '\(item)': expected NAME=FILE.npy or NAME=FILE.pb")
                }
                let name = String(item[..<eq]), file = String(item[item.index(after: eq)...])
                guard bound[name] == nil else { throw CLIError("--bind \(name) is given twice") }
                if file.hasSuffix(".npy") {
                    bound[name] = .tensor(try NumPyFormat.read(path: file))
                } else if file.hasSuffix(".pb") {
                    // A TensorProto holds at most one tensor; 2 GiB is protobuf's own limit.
                    bound[name] = .tensorProto(try AtomicFile.read(file, limit: Int(Int32.max)))
                } else {
                    throw CLIError("--bind \(name): '\(file)' is neither a .npy nor a .pb (ONNX TensorProto) file")
                }
            }
            let (outPath, weights) = try outputPaths()
            let imported: ONNXImportResult
            do {
                imported = try ONNXImporter.importModel(path: model, evaluator: InterpreterEvaluator(), options: ONNXImportOptions(shapes: given, bindings: bound))
            } catch let error as ONNXError {
                throw CLIError(error.message)
            }
            // The graph must check like any .kiln file: verify and type it before writing.
            try Verifier().verify(imported.graph)
            let typed = try ShapeInference().run(imported.graph)
            let c = Self.commentText
            var header = "# imported from \(c(URL(fileURLWithPath: model).lastPathComponent)) (ONNX opset \(imported.opset)) by kiln import\n"
            header += "# params and state: \(c(URL(fileURLWithPath: weights).lastPathComponent)) (kiln run … --params)\n"
            header += "# inputs: " + imported.inputs.map { "\(c($0.onnx)) → \($0.kiln)" }.joined(separator: ", ") + "\n"
            header += "# outputs: " + imported.outputs.map { "\(c($0.onnx)) → \($0.kiln)" }.joined(separator: ", ") + "\n"
            if !imported.tensors.isEmpty {
                try SafetensorsFormat.write(imported.tensors, metadata: ["source": URL(fileURLWithPath: model).lastPathComponent], to: weights)
            }
            try AtomicFile.write(header + Printer().print(typed), to: outPath)
            let count = imported.tensors.values.reduce(0) { $0 + $1.elementCount }
            print("\(outPath): \(typed.nodes.count) nodes, \(typed.params.count) params/state (\(count) values\(imported.tensors.isEmpty ? "" : " in \(weights)"))")
        }
    }
}
