/// How a parameter or a piece of persistent state gets its first value.
public enum Initializer: Hashable, Sendable, CustomStringConvertible {
    case zeros
    case ones
    case constant(Double)
    case uniform(Double, Double)
    case normal(mean: Double, std: Double)
    /// U(−l, l) with l = √(6 / (fan_in + fan_out)).
    case glorotUniform
    /// N(0, 2 / (fan_in + fan_out)).
    case glorotNormal
    /// N(0, 2 / fan_in).
    case heNormal
    /// U(−l, l) with l = √(6 / fan_in).
    case heUniform

    public var description: String {
        switch self {
        case .zeros: return "zeros"
        case .ones: return "ones"
        case .constant(let v): return "constant(\(formatFloat(v)))"
        case .uniform(let lo, let hi): return "uniform(\(formatFloat(lo)), \(formatFloat(hi)))"
        case .normal(let mean, let std): return "normal(\(formatFloat(mean)), \(formatFloat(std)))"
        case .glorotUniform: return "glorot_uniform"
        case .heNormal: return "he_normal"
        case .glorotNormal: return "glorot_normal"
        case .heUniform: return "he_uniform"
        }
    }
}

/// A value fed by the caller on every run.
public struct Input: Hashable, Sendable {
    public var name: String
    public var type: TensorType
    public var location: SourceLocation?

    public init(name: String, type: TensorType, location: SourceLocation? = nil) {
        self.name = name
        self.type = type
        self.location = location
    }

    public static func == (a: Input, b: Input) -> Bool { a.name == b.name && a.type == b.type }
    public func hash(into h: inout Hasher) { h.combine(name); h.combine(type) }
}

/// Persistent storage that lives across runs: trainable parameters and optimiser state.
public struct Param: Hashable, Sendable {
    public enum Role: String, Sendable {
        /// Trainable: differentiation produces its gradient.
        case param
        /// Persistent but not trained (optimiser moments, step counters).
        case state
    }

    public var name: String
    public var type: TensorType
    public var initializer: Initializer
    public var role: Role
    public var location: SourceLocation?

    public init(name: String, type: TensorType, initializer: Initializer, role: Role = .param,
                location: SourceLocation? = nil) {
        self.name = name
        self.type = type
        self.initializer = initializer
        self.role = role
        self.location = location
    }

    public static func == (a: Param, b: Param) -> Bool {
        a.name == b.name && a.type == b.type && a.initializer == b.initializer && a.role == b.role
    }
    public func hash(into h: inout Hasher) { h.combine(name); h.combine(type) }
}

/// One SSA operation. `type` is nil until shape inference (or a type annotation) sets it.
public struct Node: Hashable, Sendable {
    public var name: String
    public var op: OpKind
    public var operands: [String]
    public var attributes: Attributes
    public var type: TensorType?
    public var location: SourceLocation?
    /// The body of a `fused` kernel: nodes reading the kernel's operands and each other.
    public var region: [Node]?
    /// A fused kernel's further results (body values it writes out), after `name`.
    public var extraResults: [String]

    public init(name: String, op: OpKind, operands: [String], attributes: Attributes = Attributes(),
                type: TensorType? = nil, location: SourceLocation? = nil,
                region: [Node]? = nil, extraResults: [String] = []) {
        self.name = name
        self.op = op
        self.operands = operands
        self.attributes = attributes
        self.type = type
        self.location = location
        self.region = region
        self.extraResults = extraResults
    }

    /// Every value the node defines: its name, then a fused kernel's further results.
    public var resultNames: [String] { [name] + extraResults }

    /// Every name the node claims in the graph's single namespace: its results and, for a
    /// fused kernel, its body's values (kept unique so un-fusing never clashes).
    public var definedNames: [String] {
        guard let body = region else { return [name] }
        var names = body.map(\.name)
        if !names.contains(name) { names.append(name) }
        return names
    }

    /// The type of each result (for a fused kernel, of the body values it writes out).
    public var resultTypes: [(String, TensorType?)] {
        guard let body = region, !extraResults.isEmpty else { return [(name, type)] }
        // One pass over the body, not one search per result: kernels can write out many values.
        let wanted = Set(extraResults)
        var bodyTypes: [String: TensorType?] = [:]
        for node in body where wanted.contains(node.name) && bodyTypes[node.name] == nil { bodyTypes[node.name] = node.type }
        return resultNames.map { result in (result, result == name ? type : bodyTypes[result] ?? nil) }
    }

    /// Locations are provenance, not meaning: two nodes that compute the same thing are equal.
    public static func == (a: Node, b: Node) -> Bool {
        a.name == b.name && a.op == b.op && a.operands == b.operands
            && a.attributes == b.attributes && a.type == b.type
            && a.region == b.region && a.extraResults == b.extraResults
    }
    public func hash(into h: inout Hasher) { h.combine(name); h.combine(op); h.combine(operands) }
}

/// After a run, persistent `target` takes the value `value` (how a training step writes
/// back parameters and optimiser state).
public struct StateUpdate: Hashable, Sendable {
    public var target: String
    public var value: String
    public var location: SourceLocation?

    public init(target: String, value: String, location: SourceLocation? = nil) {
        self.target = target
        self.value = value
        self.location = location
    }

    public static func == (a: StateUpdate, b: StateUpdate) -> Bool { a.target == b.target && a.value == b.value }
    public func hash(into h: inout Hasher) { h.combine(target); h.combine(value) }
}

/// A static computation graph: inputs, persistent parameters, SSA nodes in program order,
/// outputs and state updates. Every value is named; unnamed temporaries are `%N`.
public struct Graph: Hashable, Sendable {
    public var name: String
    // Changing what the graph computes invalidates its memory plan: a plan is only ever
    // read together with the schedule it was made for (and the verifier checks it). The
    // accessors mutate in place (`_modify`): a `didSet` here would copy the whole array on
    // every append from another module, making passes quadratic.
    public var inputs: [Input] {
        get { storedInputs }
        set { storedInputs = newValue; memoryPlan = nil }
        _modify { yield &storedInputs; memoryPlan = nil }
    }
    public var params: [Param] {
        get { storedParams }
        set { storedParams = newValue; memoryPlan = nil }
        _modify { yield &storedParams; memoryPlan = nil }
    }
    public var nodes: [Node] {
        get { storedNodes }
        set { storedNodes = newValue; memoryPlan = nil }
        _modify { yield &storedNodes; memoryPlan = nil }
    }
    public var outputs: [String] {
        get { storedOutputs }
        set { storedOutputs = newValue; memoryPlan = nil }
        _modify { yield &storedOutputs; memoryPlan = nil }
    }
    public var updates: [StateUpdate] {
        get { storedUpdates }
        set { storedUpdates = newValue; memoryPlan = nil }
        _modify { yield &storedUpdates; memoryPlan = nil }
    }
    /// The declared role of outputs, by output name (outputs without a role are absent).
    public var outputRoles: [String: OutputRole] = [:]
    private var storedInputs: [Input]
    private var storedParams: [Param]
    private var storedNodes: [Node]
    private var storedOutputs: [String]
    private var storedUpdates: [StateUpdate]
    /// The file the graph came from, for diagnostics.
    public var sourceFile: String
    /// Set by memory planning for exactly this schedule; any change to inputs, params, nodes,
    /// outputs or updates drops it. Not part of the graph's meaning (equality ignores it).
    public var memoryPlan: MemoryPlan?

    public init(name: String, inputs: [Input] = [], params: [Param] = [], nodes: [Node] = [],
                outputs: [String] = [], updates: [StateUpdate] = [], sourceFile: String = "<graph>") {
        self.name = name
        storedInputs = inputs
        storedParams = params
        storedNodes = nodes
        storedOutputs = outputs
        storedUpdates = updates
        self.sourceFile = sourceFile
    }

    public static func == (a: Graph, b: Graph) -> Bool {
        a.name == b.name && a.inputs == b.inputs && a.params == b.params && a.nodes == b.nodes
            && a.outputs == b.outputs && a.updates == b.updates && a.declaredRoles == b.declaredRoles
    }

    /// Roles of current outputs only: a pass that drops an output drops its role with it.
    private var declaredRoles: [String: OutputRole] { outputRoles.filter { outputs.contains($0.key) } }

    /// The outputs declared with `role`, in output order.
    public func outputs(withRole role: OutputRole) -> [String] { outputs.filter { outputRoles[$0] == role } }

    /// The single output declared with `role`, or nil when none (or several) are.
    public func output(withRole role: OutputRole) -> String? {
        let named = outputs(withRole: role)
        return named.count == 1 ? named[0] : nil
    }
    public func hash(into h: inout Hasher) { h.combine(name); h.combine(nodes) }

    /// The type of every value whose type is known, by name.
    public var valueTypes: [String: TensorType] {
        var types: [String: TensorType] = [:]
        for input in inputs { types[input.name] = input.type }
        for param in params { types[param.name] = param.type }
        for node in nodes {
            for (name, type) in node.resultTypes { if let type { types[name] = type } }
        }
        return types
    }

    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }
    public func param(named name: String) -> Param? { params.first { $0.name == name } }
    public func input(named name: String) -> Input? { inputs.first { $0.name == name } }

    /// Trainable parameters, in declaration order.
    public var trainableParams: [Param] { params.filter { $0.role == .param } }

    /// A `%N` name not yet used in this graph.
    public func freshName() -> String {
        var taken = Set<String>()
        for node in nodes { taken.insert(node.name) }
        var next = 0
        for name in taken where name.hasPrefix("%") {
            if let n = Int(name.dropFirst()), n >= next { next = n + 1 }
        }
        return "%\(next)"
    }
}
