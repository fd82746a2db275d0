import Foundation
import KilnData
import KilnIR
import KilnONNX
import KilnRuntime
import Testing

/// Replays the fuzzing seed corpora (Fuzz/Corpus) through the same readers as `make fuzz`, so
/// an input saved there after a finding stays a regression test in every `swift test`.
struct FuzzCorpusTests {
    static func files(_ target: String) -> [String] {
        let directory = repositoryRoot.appendingPathComponent("Fuzz/Corpus/\(target)").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().map { "\(directory)/\($0)" }
    }

    @Test("every seed is read or rejected with a diagnostic", arguments: ["parser", "npy", "npz", "safetensors", "idx", "onnx"])
    func replay(_ target: String) throws {
        let files = Self.files(target)
        #expect(!files.isEmpty, "no seeds in Fuzz/Corpus/\(target)")
        for path in files {
            let bytes = try AtomicFile.read(path)
            do {
                switch target {
                case "parser":
                    let text = String(decoding: bytes, as: UTF8.self)
                    _ = typeErrors(Parser.parseReportingAll(text, file: path).graph)
                    _ = try inferTypes(try Parser.parse(text, file: path)).text
                case "npy": _ = try NumPyFormat.decode(bytes, name: path)
                case "npz": _ = try NumPyFormat.decodeArchive(bytes, name: path)
                case "safetensors": _ = try SafetensorsFormat.decode(bytes, name: path)
                case "onnx":
                    // As the fuzz target: what imports must type-check.
                    if let result = try? ONNXImporter.importModel(bytes: bytes, source: path, evaluator: InterpreterEvaluator()) { _ = try inferTypes(result.graph).text }
                default: _ = try IDXReader.parse(bytes, name: path)
                }
            } catch is Diagnostic {
                // A clean rejection is what a reader should do with a bad input.
            }
        }
    }
}
