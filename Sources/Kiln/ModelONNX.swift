import KilnIR
import KilnONNX
import KilnRuntime
import KilnTraining

extension Model {
    /// Writes the inference graph (`inferenceGraph`: no loss or labels, dropout off, batch
    /// norm on its running statistics, a classifier's `probabilities` output) with the weights
    /// as initializers: an ONNX model (opset `ONNXExporter.opset`), written atomically. Its
    /// inputs and outputs keep the model's names and the batch size `batchSize`.
    public func exportONNX(to path: String) throws {
        let bytes: [UInt8]
        do { bytes = try ONNXExporter.export(inferenceGraph, params: weights) } catch let error as ONNXError {
            throw Diagnostic("exporting model '\(graph.name)' as ONNX: \(error.message)")
        }
        try AtomicFile.write(bytes, to: path)
    }

    /// Imports an ONNX model (`ONNXImporter`; dynamic dimensions fixed by `shapes`, input name →
    /// dimensions) as a model whose weights are its initializers. An imported graph has no loss,
    /// so it predicts its outputs as they are.
    public convenience init(onnx path: String, shapes: [String: [Int]] = [:], classNames: [String] = [],
                            backend: BackendKind = .jit) throws {
        let imported: ONNXImportResult
        do { imported = try ONNXImporter.importModel(path: path, evaluator: InterpreterEvaluator(), options: ONNXImportOptions(shapes: shapes)) } catch let error as ONNXError {
            throw Diagnostic("'\(path)': \(error.message)")
        }
        try self.init(graph: imported.graph, weights: imported.tensors, classNames: classNames, backend: backend)
    }
}
