import Foundation
import KilnIR
import KilnPasses
import KilnRuntime

/// A trained model you can keep and use: the forward graph, its weights (trainable params and
/// state such as batch norm's running statistics), the class names and which inputs are labels.
///
/// `save(to:)` writes it as one safetensors file: the tensors are the weights (any safetensors
/// reader can load them, and `Trainer.loadParameters(from:)` can start a fine-tuning run from
/// them); the header's `__metadata__` holds the graph as `.kiln` text (`kiln.graph_text`), the
/// class names (`kiln.class_names`, a JSON array), the label inputs (`kiln.label_inputs`) and
/// the format (`kiln.format` = `kiln-model/1`). `Model(contentsOf:)` reads it back in any process.
///
/// `predict` runs the inference graph (`InferenceGraph`: loss and labels dropped, dropout off,
/// batch norm on its running statistics, a softmax `probabilities` output for a classifier) on
/// any number of examples, in batches of `batchSize`; the last batch is padded by repeating its
/// last example, and only real rows are returned.
public final class Model {
    /// The value of `kiln.format` this version writes and reads.
    public static let format = "kiln-model/1"

    /// The training-time forward graph (typed), as saved.
    public let graph: Graph
    /// Params and state of `graph`, by name (no optimiser state).
    public let weights: [String: Tensor]
    /// One name per class (index = class number); empty when not given.
    public var classNames: [String]
    /// Inputs the training graph's loss reads as targets; `predict` never needs them.
    public let labelInputs: [String]
    /// The graph `predict` runs, at the training batch size.
    public let inferenceGraph: Graph
    /// The backend `predict` compiles to (default: the JIT).
    public let backend: BackendKind
    /// How many examples one run of the inference graph takes (default: the training batch).
    public let batchSize: Int
    /// The compiled inference graph, made on the first prediction.
    var cachedBackend: ExecutionBackend?

    /// A model of `graph` with `weights` (every param and state tensor of `graph`, finite, of its
    /// type; extra tensors such as optimiser state are ignored).
    public init(graph: Graph, weights: [String: Tensor], classNames: [String] = [], backend: BackendKind = .jit,
                batchSize: Int? = nil) throws {
        let typed = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        var kept: [String: Tensor] = [:]
        for param in typed.params {
            guard let tensor = weights[param.name] else {
                throw Diagnostic("model '\(typed.name)': no value for \(param.role == .state ? "state" : "param") '\(param.name)' \(param.type)")
            }
            guard tensor.type == param.type else {
                throw Diagnostic("model '\(typed.name)': '\(param.name)' is \(tensor.type), the graph needs \(param.type)")
            }
            try tensor.checkFinite("model '\(typed.name)': '\(param.name)'")
            kept[param.name] = tensor.copy()
        }
        if let classes = typed.output(withRole: .logits).flatMap({ typed.valueTypes[$0]?.shape.dims.last }), !classNames.isEmpty,
           classNames.count != classes {
            throw Diagnostic("model '\(typed.name)': \(classNames.count) class names for \(classes) classes")
        }
        let trainingBatch = typed.inputs.first?.type.shape.dims.first ?? 1
        let batch = batchSize ?? trainingBatch
        guard batch >= 1, batch <= 1 << 20 else { throw Diagnostic("model '\(typed.name)': batchSize must be in 1...1048576, got \(batch)") }
        var inference = try InferenceGraph().run(typed)
        if batch != trainingBatch { inference = try BatchSpecialization(from: trainingBatch, to: batch).run(inference) }
        self.graph = typed
        self.weights = kept
        self.classNames = classNames
        labelInputs = typed.inputs.map(\.name).filter { name in !inference.inputs.contains { $0.name == name } }
        inferenceGraph = inference
        self.backend = backend
        self.batchSize = batch
    }

    /// The trainer's forward graph and its current params and state.
    public convenience init(_ trainer: Trainer, classNames: [String] = [], backend: BackendKind = .jit) throws {
        try self.init(graph: trainer.forward, weights: trainer.state, classNames: classNames, backend: backend)
    }

    /// The same model, predicting on another backend or batch size.
    public func with(backend: BackendKind? = nil, batchSize: Int? = nil) throws -> Model {
        try Model(graph: graph, weights: weights, classNames: classNames, backend: backend ?? self.backend,
                  batchSize: batchSize ?? self.batchSize)
    }

    // MARK: - Saving and loading

    /// Writes the model to `path` as one safetensors file (atomically; see the type's documentation).
    public func save(to path: String) throws {
        var metadata = ["kiln.format": Self.format, "kiln.graph": graph.name, "kiln.graph_text": graph.text,
                        "kiln.label_inputs": labelInputs.joined(separator: ",")]
        let names = try JSONSerialization.data(withJSONObject: classNames)
        metadata["kiln.class_names"] = String(decoding: names, as: UTF8.self)
        try SafetensorsFormat.write(weights, metadata: metadata, to: path)
    }

    /// Reads a model `save(to:)` wrote.
    public convenience init(contentsOf path: String, backend: BackendKind = .jit, batchSize: Int? = nil) throws {
        let (tensors, metadata) = try SafetensorsFormat.read(path: path)
        guard let format = metadata["kiln.format"] else {
            throw Diagnostic("'\(path)' is not a saved Kiln model (no kiln.format in its metadata; a checkpoint? load it with Trainer.loadCheckpoint)")
        }
        guard format == Self.format else { throw Diagnostic("'\(path)': kiln.format '\(format)' is not '\(Self.format)'") }
        guard let text = metadata["kiln.graph_text"] else { throw Diagnostic("'\(path)': no kiln.graph_text in its metadata") }
        let graph = try Parser.parse(text, file: "\(path) (kiln.graph_text)")
        var classNames: [String] = []
        if let json = metadata["kiln.class_names"] {
            guard let names = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String] else {
                throw Diagnostic("'\(path)': kiln.class_names is not a JSON array of strings")
            }
            classNames = names
        }
        do {
            try self.init(graph: graph, weights: tensors, classNames: classNames, backend: backend, batchSize: batchSize)
        } catch let d as Diagnostic {
            throw Diagnostic("'\(path)': \(d.message)")
        }
    }

    // MARK: - Inputs and outputs

    /// The inputs `predict` takes (the graph's inputs without the labels), each [batch, …].
    public var inputs: [Input] { inferenceGraph.inputs }
    /// The outputs `predict` returns.
    public var outputs: [String] { inferenceGraph.outputs }
    /// What `predict(_:)` returns: the probabilities of a classifier, else the output declared
    /// `as prediction`, else the only output.
    public var primaryOutput: String? {
        inferenceGraph.output(withRole: .probabilities) ?? inferenceGraph.output(withRole: .prediction)
            ?? (outputs.count == 1 ? outputs[0] : nil)
    }
}

extension Model {
    /// The layer table of the model (`GraphSummary`): output shapes, params (trainable, frozen
    /// — those in `frozen` — and state), FLOPs per example and the planned memory of the
    /// inference step and, with `optimizer`, of a training step.
    public func summary(frozen: [String] = [], optimizer: Optimizer? = nil) throws -> GraphSummary {
        try GraphSummary(graph, frozen: Set(frozen), optimizer: optimizer)
    }
}

extension Trainer {
    /// The layer table of the trained graph, with this trainer's frozen params and optimiser.
    public func summary() throws -> GraphSummary {
        try GraphSummary(forward, frozen: Set(frozen), optimizer: optimizer)
    }
}
