import Foundation
import KilnIR
import KilnTensor
import SwiftProtobuf

/// What `kiln import` needs beyond the model: sizes for its dynamic dimensions.
public struct ONNXImportOptions: Sendable {
    /// Full shapes of graph inputs by their ONNX names (`--shape x=1x3x224x224`).
    public var shapes: [String: [Int]]
    /// The Kiln graph's name (default: the ONNX graph's name).
    public var graphName: String?
    /// Graph inputs given a value at import time (`--bind k=k.npy`): each becomes a constant
    /// instead of an input, so a value that decides a shape (TopK's k, Reshape's target,
    /// reduction axes, Resize's scales) can come from one.
    public var bindings: [String: ONNXBinding]

    public init(shapes: [String: [Int]] = [:], graphName: String? = nil, bindings: [String: ONNXBinding] = [:]) {
        self.shapes = shapes
        self.graphName = graphName
        self.bindings = bindings
    }
}

/// The value bound to a graph input at import time.
public enum ONNXBinding: @unchecked Sendable {
    /// A Kiln tensor (read from a .npy file).
    case tensor(Tensor)
    /// A serialized ONNX `TensorProto` (a .pb file such as ONNX's test data): any integer type,
    /// int64 values beyond the i32 range included (Slice's "to the end"), may be empty.
    case tensorProto([UInt8])
}

/// An imported model: the Kiln graph and the values of its params and state.
public struct ONNXImportResult: @unchecked Sendable {
    public var graph: Graph
    /// Initializers (params, trainable) and import-time constants (state), by Kiln name.
    public var tensors: [String: Tensor]
    /// The default-domain opset the model declares.
    public var opset: Int
    /// Graph inputs and outputs in ONNX order: (ONNX name, Kiln name).
    public var inputs: [(onnx: String, kiln: String)]
    public var outputs: [(onnx: String, kiln: String)]
}

/// ONNX `ModelProto` → Kiln IR. Static shapes are Kiln's contract: every dimension of every
/// graph input must be known (from the model or from `ONNXImportOptions.shapes`), and every
/// shape-computing subgraph (`Shape`, `Gather`, `Concat`, … feeding a `Reshape`) is folded at
/// import time.
public enum ONNXImporter {
    /// The opsets the converters are written against: 13 (where `Squeeze`, `ReduceSum`, `Split`
    /// and `Slice` take their axes as inputs) to 28, ONNX 1.23's current one. Older models (6–12) are read
    /// too — each converter also accepts the older attribute forms (legacy `broadcast`/`axis`,
    /// attribute axes and shapes) — but are not the contract.
    public static let supportedOpsets = 13...28
    public static let oldestReadableOpset = 6
    /// The ONNX op types the importer converts (including those only folded at import time).
    public static var supportedOps: [String] { OpConverters.supportedOps }

    /// The largest model file read (2 GiB: protobuf's own limit).
    public static let maximumBytes = Int(Int32.max)

    /// Reads and imports the model at `path`. `evaluator` runs the nodes whose inputs are all
    /// known at import time (`InterpreterEvaluator()` from KilnRuntime), so shape computations
    /// of any form fold to constants.
    public static func importModel(path: String, evaluator: any ConstantEvaluator,
                                   options: ONNXImportOptions = ONNXImportOptions()) throws -> ONNXImportResult {
        // The file's bytes are released once decoded (they would double the peak of a large model).
        let model = try decode(try AtomicFile.read(path, limit: maximumBytes), source: path)
        return try importModel(model, source: path, evaluator: evaluator, options: options)
    }

    /// Imports serialized `ModelProto` bytes; `source` (a file name) starts every error message.
    public static func importModel(bytes: [UInt8], source: String, evaluator: any ConstantEvaluator,
                                   options: ONNXImportOptions = ONNXImportOptions()) throws -> ONNXImportResult {
        try importModel(try decode(bytes, source: source), source: source, evaluator: evaluator, options: options)
    }

    private static func decode(_ bytes: [UInt8], source: String) throws -> Onnx_ModelProto {
        do {
            return try Onnx_ModelProto(serializedBytes: bytes)
        } catch {
            throw ONNXError("\(source): not a valid ONNX model (protobuf decoding failed: \(error)); the file may be truncated or not ONNX")
        }
    }

    private static func importModel(_ decoded: Onnx_ModelProto, source: String, evaluator: any ConstantEvaluator,
                                    options: ONNXImportOptions) throws -> ONNXImportResult {
        var model = decoded
        guard model.hasGraph, !model.graph.node.isEmpty || !model.graph.output.isEmpty else {
            throw ONNXError("\(source): the model has no graph (is this an ONNX file?)")
        }
        let opset = model.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }).map { Int($0.version) } ?? 1
        guard opset >= oldestReadableOpset, opset <= supportedOpsets.upperBound else {
            throw ONNXError("\(source): opset \(opset) is not supported (Kiln reads opsets \(supportedOpsets.lowerBound) to \(supportedOpsets.upperBound))")
        }
        let name = options.graphName ?? ValueNames.sanitize(model.graph.name.isEmpty ? "model" : model.graph.name)
        let ctx = ImportContext(graphName: name, opset: opset, evaluator: evaluator)
        ctx.consumed = Set(model.graph.node.flatMap(\.input) + model.graph.output.map(\.name))
        // The initializers leave the model: each one's protobuf data is freed as soon as it is
        // decoded into f32 storage (weights streamed, not held twice).
        var initializers = model.graph.initializer
        model.graph.initializer = []
        do {
            let inputs = try declareInputs(model.graph, &initializers, ctx, options: options, source: source)
            for (index, node) in model.graph.node.enumerated() {
                try convertNode(node, index: index, ctx, source: source)
            }
            let outputs = try declareOutputs(model.graph, ctx)
            var graph = ctx.builder.graph
            graph.sourceFile = source
            return ONNXImportResult(graph: graph, tensors: ctx.tensors, opset: opset, inputs: inputs, outputs: outputs)
        } catch let error as ConversionError {
            throw ONNXError("\(source): \(error.message)")
        } catch let error as Diagnostic {
            // The graph builder's own checks (outside any node) still name the file.
            throw ONNXError("\(source): \(error.message)")
        }
    }

    private static func declareInputs(_ g: Onnx_GraphProto, _ initializers: inout [Onnx_TensorProto], _ ctx: ImportContext,
                                      options: ONNXImportOptions, source: String) throws -> [(onnx: String, kiln: String)] {
        var initialized: Set<String> = []
        // Popped one by one in model order, so each one's protobuf data is released once decoded.
        initializers.reverse()
        while let t = initializers.popLast() {
            let c = try ConstantTensor(proto: t, what: "initializer '\(t.name)'")
            // An empty initializer may stand for an omitted input (Resize's roi or scales); it is
            // an error only where it would become a Kiln value (`materialize`).
            ctx.values[t.name] = ImportedValue(type: c.type, kilnName: nil, constant: c, isInitializer: true, onnxType: t.dataType)
            initialized.insert(t.name)
        }
        let known = Set(g.input.map(\.name))
        for name in options.shapes.keys where !known.contains(name) {
            throw ConversionError("--shape \(name): the model has no input '\(name)' (inputs: \(g.input.filter { !initialized.contains($0.name) }.map(\.name).joined(separator: ", ")))")
        }
        for name in options.bindings.keys where !known.contains(name) || initialized.contains(name) {
            throw ConversionError("--bind \(name): the model has no input '\(name)' (inputs: \(g.input.filter { !initialized.contains($0.name) }.map(\.name).joined(separator: ", ")))")
        }
        for name in options.bindings.keys where options.shapes[name] != nil {
            throw ConversionError("--bind \(name) and --shape \(name) are both given; a bound input's shape is its value's")
        }
        var declared: [(onnx: String, kiln: String)] = []
        // An input that is also an initializer (IR < 4 listed weights as inputs) is a weight.
        var seen: Set<String> = []
        for input in g.input where !initialized.contains(input.name) {
            guard seen.insert(input.name).inserted else { throw ConversionError("input '\(input.name)' is declared twice") }
            guard case .tensorType(let tensorType)? = input.type.value else {
                throw ConversionError("input '\(input.name)' is not a tensor (sequences, maps and optionals are not supported)")
            }
            if let binding = options.bindings[input.name] {
                let c = try boundValue(binding, input.name, tensorType)
                ctx.values[input.name] = ImportedValue(type: c.type, kilnName: nil, constant: c, onnxType: tensorType.elemType)
                continue
            }
            guard let dtype = ONNXDataType.kilnType(tensorType.elemType) else {
                throw ConversionError("input '\(input.name)' has element type \(ONNXDataType.name(tensorType.elemType)); Kiln supports float and integer inputs")
            }
            var dims: [Int] = []
            if let given = options.shapes[input.name] {
                if tensorType.hasShape, tensorType.shape.dim.count != given.count {
                    throw ConversionError("--shape \(input.name): the model gives the input rank \(tensorType.shape.dim.count), not \(given.count)")
                }
                for (axis, d) in tensorType.shape.dim.enumerated() {
                    if case .dimValue(let v)? = d.value, v > 0, Int(v) != given[axis] {
                        throw ConversionError("--shape \(input.name): dimension \(axis) is \(v) in the model, not \(given[axis])")
                    }
                }
                dims = given
            } else {
                guard tensorType.hasShape else {
                    throw ConversionError("input '\(input.name)' has no shape in the model: give it with --shape \(input.name)=D0xD1x…")
                }
                for (axis, d) in tensorType.shape.dim.enumerated() {
                    switch d.value {
                    case .dimValue(let v)? where v > 0: dims.append(Int(v))
                    case .dimValue(let v)?:
                        // 0 or negative is a value, not an unknown: say so rather than ask for --shape.
                        throw ConversionError("input '\(input.name)' dimension \(axis) is \(v); Kiln needs every dimension > 0")
                    case .dimParam(let p)? where !p.isEmpty:
                        throw ConversionError("input '\(input.name)' dimension \(axis) ('\(p)') is unknown: give the full shape with --shape \(input.name)=\(shapeHint(tensorType))")
                    default:
                        throw ConversionError("input '\(input.name)' dimension \(axis) is unknown: give the full shape with --shape \(input.name)=\(shapeHint(tensorType))")
                    }
                }
            }
            guard dims.allSatisfy({ $0 > 0 }) else { throw ConversionError("input '\(input.name)' has an empty dimension \(dims); Kiln needs every dimension > 0") }
            guard checkedElementCount(dims) != nil else {
                throw ConversionError("input '\(input.name)' of shape \(dims) has more than 2^40 elements, Kiln's limit for one tensor")
            }
            let kiln = ctx.names.kilnName(for: input.name)
            try ctx.builder.addInput(kiln, TensorType(dtype, dims))
            ctx.values[input.name] = ImportedValue(type: TensorType(dtype, dims), kilnName: kiln, onnxType: tensorType.elemType)
            declared.append((input.name, kiln))
        }
        return declared
    }

    /// A bound input's value, checked against the input's declared element type and shape.
    private static func boundValue(_ binding: ONNXBinding, _ name: String, _ declared: Onnx_TypeProto.Tensor) throws -> ConstantTensor {
        let c: ConstantTensor
        switch binding {
        case .tensor(let t):
            let values: [Double] = t.dtype == .f32 ? t.floats.map(Double.init) : t.ints.map(Double.init)
            c = ConstantTensor(shape: t.shape.dims, values: values, isInteger: t.dtype == .i32)
        case .tensorProto(let bytes):
            let proto: Onnx_TensorProto
            do { proto = try Onnx_TensorProto(serializedBytes: bytes) } catch {
                throw ConversionError("--bind \(name): not a serialized ONNX TensorProto (\(error))")
            }
            c = try ConstantTensor(proto: proto, what: "--bind \(name)")
        }
        guard let dtype = ONNXDataType.kilnType(declared.elemType) else {
            throw ConversionError("--bind \(name): the input has element type \(ONNXDataType.name(declared.elemType)); Kiln supports float and integer inputs")
        }
        guard c.dtype == dtype else {
            throw ConversionError("--bind \(name): the value is \(c.dtype == .f32 ? "floating point" : "integer"), the input \(ONNXDataType.name(declared.elemType))")
        }
        if declared.hasShape {
            let dims = declared.shape.dim
            // A one-element value for a declared scalar (or [1]) is accepted either way.
            let sameCount = c.count == 1 && dims.allSatisfy { if case .dimValue(let v)? = $0.value { return v == 1 }; return true }
            guard dims.count == c.shape.count || sameCount else {
                throw ConversionError("--bind \(name): the value has shape \(c.shape), the input rank \(dims.count)")
            }
            if !sameCount {
                for (axis, d) in dims.enumerated() {
                    if case .dimValue(let v)? = d.value, v > 0, Int(v) != c.shape[axis] {
                        throw ConversionError("--bind \(name): dimension \(axis) is \(v) in the model, \(c.shape[axis]) in the value")
                    }
                }
            } else if dims.count != c.shape.count {
                return ConstantTensor(shape: Array(repeating: 1, count: dims.count), values: c.values, isInteger: c.isInteger)
            }
        }
        return c
    }

    private static func shapeHint(_ t: Onnx_TypeProto.Tensor) -> String {
        t.shape.dim.map { d -> String in
            if case .dimValue(let v)? = d.value, v > 0 { return String(v) }
            if case .dimParam(let p)? = d.value, !p.isEmpty { return "<\(p)>" }
            return "?"
        }.joined(separator: "x")
    }

    static func convertNode(_ node: Onnx_NodeProto, index: Int, _ ctx: ImportContext, source: String) throws {
        let label = node.name.isEmpty ? "#\(index)" : "'\(node.name)'"
        let domain = node.domain.isEmpty ? "" : " (domain \(node.domain))"
        func located(_ message: String) -> ONNXError {
            ONNXError("\(source): node \(label) (\(node.opType)\(domain), opset \(ctx.opset)): \(message)")
        }
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw located("unsupported op: Kiln imports only the default ONNX domain")
        }
        ctx.begin(node)
        // A value has one definition: with two, the later silently won (onnxruntime refuses).
        for output in node.output where !output.isEmpty && ctx.values[output] != nil {
            throw located("output '\(output)' is already defined (by an earlier node, an input or an initializer)")
        }
        if node.opType == "If" {
            try inlineIf(node, label: label, ctx, source: source, located: located)
            return
        }
        if node.opType == "Scan" {
            try unrollScan(node, label: label, ctx, source: source, located: located)
            return
        }
        do {
            if try ConstantFolder.fold(ctx, node.opType) { return }
            guard let convert = OpConverters.table[node.opType] else {
                throw located("unsupported op '\(node.opType)'")
            }
            if try EvaluatedFolding.fold(ctx, convert: convert) { return }
            try convert(ctx)
        } catch let error as ConversionError {
            throw located(error.message)
        } catch let error as Diagnostic {
            throw located(error.message)
        } catch let error as TypeError {
            throw located(error.message)
        }
        // A Cast's result keeps its ONNX type (QuantizeLinear's range reads a cast zero point's).
        if node.opType == "Cast", let output = node.output.first, let to = node.attribute.first(where: { $0.name == "to" }) {
            ctx.values[output]?.onnxType = Int32(clamping: to.i)
        }
        for (i, output) in node.output.enumerated() where !output.isEmpty && ctx.values[output] == nil && ctx.consumed.contains(output) {
            throw located("output \(i) ('\(output)') is not supported")
        }
    }

    private static func declareOutputs(_ g: Onnx_GraphProto, _ ctx: ImportContext) throws -> [(onnx: String, kiln: String)] {
        var declared: [(onnx: String, kiln: String)] = []
        for output in g.output {
            guard ctx.values[output.name] != nil else { throw ConversionError("graph output '\(output.name)' is never computed") }
            var kiln = try ctx.materialize(output.name, role: nil)
            let wanted = ctx.names.kilnName(for: output.name)
            // Each output gets its own name and value (an output may be an input, a param or
            // another output's value: Identity).
            if kiln != wanted || ctx.builder.isOutput(kiln) || ctx.builder.graph.inputs.contains(where: { $0.name == kiln })
                || ctx.builder.graph.params.contains(where: { $0.name == kiln }) {
                let t = try ctx.kilnType(kiln)
                let copy = try ctx.builder.add(.reshape, [kiln], [("shape", .ints(t.shape.dims))], name: ctx.builder.isDefined(wanted) ? nil : wanted)
                kiln = copy
            }
            try ctx.builder.addOutput(kiln)
            declared.append((output.name, kiln))
        }
        return declared
    }
}
