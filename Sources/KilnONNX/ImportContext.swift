import KilnIR
import KilnTensor

/// One ONNX value as the importer sees it: its Kiln type, the Kiln value standing for it (nil
/// for a constant not yet needed as a tensor), and its data when known at import time.
struct ImportedValue {
    var type: TensorType
    var kilnName: String?
    var constant: ConstantTensor?
    /// An initializer: materialised as a `param` (float) so that an imported model can be trained.
    var isInitializer = false
    /// The ONNX element type of a graph input or initializer (Kiln's i32 stands for every
    /// integer type; QuantizeLinear's range depends on which).
    var onnxType: Int32? = nil
}

/// The importer's state while it walks the nodes: the graph being built, what each ONNX name
/// stands for, the param/state data collected for the checkpoint, and the node being converted
/// (its inputs, outputs and attributes), which the per-op converters read.
final class ImportContext {
    var builder: GraphBuilder
    var names = ValueNames()
    var values: [String: ImportedValue] = [:]
    /// Data of every param and state value the import created (written beside the .kiln file).
    var tensors: [String: Tensor] = [:]
    /// Elements of every constant folded so far (bounded by `ConstantFolder.budget`).
    var foldedElements = 0
    /// The default-domain opset the model imports.
    let opset: Int
    /// Runs the graphs `EvaluatedFolding` builds for nodes of known inputs.
    let evaluator: any ConstantEvaluator
    private(set) var node = Onnx_NodeProto()
    private(set) var attributes = NodeAttributes(Onnx_NodeProto())
    /// Values created by the current node, which may be renamed to the node's output names.
    private var createdByNode: Set<String> = []

    init(graphName: String, opset: Int, evaluator: any ConstantEvaluator) {
        builder = GraphBuilder(name: graphName, sourceFile: graphName + ".onnx", infersTypes: true)
        self.opset = opset
        self.evaluator = evaluator
    }

    func begin(_ node: Onnx_NodeProto) {
        self.node = node
        attributes = NodeAttributes(node)
        createdByNode = []
    }

    var inputCount: Int { node.input.count }

    /// Whether input `i` is given (ONNX marks an omitted optional input with an empty name).
    func hasInput(_ i: Int) -> Bool { i < node.input.count && !node.input[i].isEmpty }

    func value(_ i: Int) throws -> ImportedValue {
        guard hasInput(i) else { throw ConversionError("input \(i) is missing") }
        guard let v = values[node.input[i]] else { throw ConversionError("input '\(node.input[i])' is not defined before its use") }
        return v
    }

    func type(_ i: Int) throws -> TensorType { try value(i).type }
    func shape(_ i: Int) throws -> [Int] { try value(i).type.shape.dims }
    func rank(_ i: Int) throws -> Int { try value(i).type.rank }

    /// Input `i`'s value when known at import time.
    func constant(_ i: Int) -> ConstantTensor? {
        guard hasInput(i) else { return nil }
        return values[node.input[i]]?.constant
    }

    /// Input `i`'s value, which must be known at import time (shapes, axes, pads).
    func requiredConstant(_ i: Int, _ what: String) throws -> ConstantTensor {
        guard hasInput(i) else { throw ConversionError("\(what) (input \(i)) is missing") }
        guard let c = constant(i) else {
            throw ConversionError("\(what) (input '\(node.input[i])') must be known at import time (Kiln's shapes are static)")
        }
        return c
    }

    /// The Kiln value for input `i`, creating a `constant`, `param` or `state` value for data
    /// known only at import time.
    func operand(_ i: Int) throws -> String {
        let v = try value(i)
        if let name = v.kilnName { return name }
        return try materialize(node.input[i], role: nil)
    }

    /// Creates the Kiln value of a known ONNX value. Float initializers become trainable params
    /// (unless `role` says state: batch-norm statistics); other non-uniform data becomes state;
    /// uniform data a `constant` node.
    @discardableResult
    func materialize(_ onnxName: String, role: Param.Role?) throws -> String {
        guard var v = values[onnxName] else { throw ConversionError("'\(onnxName)' is not defined") }
        if let name = v.kilnName { return name }
        guard let c = v.constant else { throw ConversionError("'\(onnxName)' has no value") }
        guard c.count > 0 else { throw ConversionError("'\(onnxName)' is empty (shape \(c.shape)), which Kiln cannot represent") }
        let name = names.kilnName(for: onnxName)
        let trainable = v.isInitializer && c.dtype == .f32
        if !trainable && role == nil && c.isSplat {
            try builder.add(.constant, [], [("value", .float(c.values[0])), ("shape", .ints(c.shape)), ("dtype", .dtype(c.dtype))], name: name)
        } else {
            try builder.addParam(name, c.type, .zeros, role: role ?? (trainable ? .param : .state))
            tensors[name] = try c.tensor("'\(onnxName)'")
        }
        v.kilnName = name
        values[onnxName] = v
        return name
    }

    /// A state value holding `data` (index lists, masks, counts the importer computes).
    func stateTensor(_ base: String, _ data: ConstantTensor) throws -> String {
        if data.isSplat { return try constantNode(data.values[0], shape: data.shape, dtype: data.dtype) }
        let name = names.fresh(base)
        try builder.addParam(name, data.type, .zeros, role: .state)
        tensors[name] = try data.tensor("'\(name)'")
        return name
    }

    /// A scalar f32 constant: the `scalar` emitter `Composites` builds with.
    func scalar(_ value: Double) throws -> String { try constantNode(value) }

    /// Appends a Kiln node (type-checked as it is added) and returns its value's name.
    @discardableResult
    func emit(_ op: OpKind, _ operands: [String], _ attributes: [(String, AttrValue)] = []) throws -> String {
        let name = try builder.add(op, operands, attributes)
        createdByNode.insert(name)
        return name
    }

    func constantNode(_ value: Double, shape: [Int] = [], dtype: DType = .f32) throws -> String {
        try emit(.constant, [], [("value", .float(value)), ("shape", .ints(shape)), ("dtype", .dtype(dtype))])
    }

    func kilnType(_ name: String) throws -> TensorType {
        guard let t = builder.type(of: name) else { throw ConversionError("type of '\(name)' is unknown") }
        return t
    }

    func dims(_ name: String) throws -> [Int] { try kilnType(name).shape.dims }

    /// Defines output `i` of the current node as the Kiln value `kilnName`; a value this node
    /// created takes the ONNX output's (sanitised) name, so the .kiln file reads like the model.
    func define(_ i: Int, _ kilnName: String) throws {
        guard i < node.output.count, !node.output[i].isEmpty else { return }
        let onnxName = node.output[i]
        var final = kilnName
        if createdByNode.contains(kilnName), kilnName.hasPrefix("%") {
            let wanted = names.kilnName(for: onnxName)
            if !builder.isDefined(wanted) {
                try builder.rename(kilnName, to: wanted)
                createdByNode.remove(kilnName)
                final = wanted
            }
        }
        values[onnxName] = ImportedValue(type: try kilnType(final), kilnName: final)
    }

    /// Defines output `i` as a value known at import time (folded).
    func define(_ i: Int, constant c: ConstantTensor) {
        guard i < node.output.count, !node.output[i].isEmpty else { return }
        values[node.output[i]] = ImportedValue(type: c.type, kilnName: nil, constant: c)
    }

    /// Every value some node reads or the graph outputs: an optional output (Dropout's mask)
    /// that nothing uses may be named and still left undefined.
    var consumed: Set<String> = []

    /// Whether output `i` is used: named, and read by a node or a graph output.
    func wantsOutput(_ i: Int) -> Bool { i < node.output.count && !node.output[i].isEmpty && consumed.contains(node.output[i]) }

    /// An axis in [0, rank) from ONNX's possibly negative axis. A rank-0 value has no axis:
    /// Concat, Gather, Split or Hardmax of a scalar is invalid ONNX and used to index past the
    /// end of its empty shape.
    func axis(_ raw: Int, rank: Int, _ what: String = "axis") throws -> Int {
        let a = raw < 0 ? raw + rank : raw
        guard a >= 0, a < rank else { throw ConversionError("\(what) \(raw) is out of range for rank \(rank)") }
        return a
    }
}
