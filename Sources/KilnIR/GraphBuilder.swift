/// Appends nodes to a graph with the checks every producer needs: unique names,
/// known operands, arity, normalised attributes and (optionally) eager type inference.
/// The parser, the Swift DSL and the rewriting passes all build graphs through it, so a
/// graph built any of those ways names its temporaries the same way (`%N`, N = node index).
public struct GraphBuilder {
    public private(set) var graph: Graph
    private var taken: Set<String>
    private var types: [String: TensorType]
    /// Where each node (by its name) sits in `graph.nodes`, and which nodes read each value:
    /// `rename` touches only those instead of scanning the graph (quadratic when a pass renames
    /// one value per node, as differentiation does).
    private var nodeIndex: [String: Int] = [:]
    private var users: [String: [Int]] = [:]
    /// Params and state, outputs, and update targets by name, for checks that would otherwise
    /// search the graph's lists (a training step adds thousands of each).
    private var paramNames: Set<String>
    private var outputNames: Set<String>
    private var updateTargets: Set<String>
    private var updateValues: Set<String>
    /// Infer each node's type as it is added (the DSL does, so errors point at the call).
    public var infersTypes: Bool

    public init(_ graph: Graph, infersTypes: Bool = false) {
        self.graph = graph
        self.infersTypes = infersTypes
        taken = Set(graph.inputs.map(\.name) + graph.params.map(\.name))
        for node in graph.nodes { taken.formUnion(node.definedNames) }
        types = graph.valueTypes
        paramNames = Set(graph.params.map(\.name))
        outputNames = Set(graph.outputs)
        updateTargets = Set(graph.updates.map(\.target))
        updateValues = Set(graph.updates.map(\.value))
        for (position, node) in graph.nodes.enumerated() { record(node, at: position) }
    }

    private mutating func record(_ node: Node, at index: Int) {
        nodeIndex[node.name] = index
        for operand in node.operands where users[operand]?.last != index { users[operand, default: []].append(index) }
    }

    public init(name: String, sourceFile: String = "<graph>", infersTypes: Bool = false) {
        self.init(Graph(name: name, sourceFile: sourceFile), infersTypes: infersTypes)
    }

    public func isDefined(_ name: String) -> Bool { taken.contains(name) }
    /// Every name defined so far (for "did you mean" hints).
    public var definedNames: Set<String> { taken }
    public func isOutput(_ name: String) -> Bool { outputNames.contains(name) }
    public func type(of name: String) -> TensorType? { types[name] }

    public mutating func addInput(_ name: String, _ type: TensorType, at location: SourceLocation? = nil) throws {
        try claim(name, at: location)
        graph.inputs.append(Input(name: name, type: type, location: location))
        types[name] = type
    }

    public mutating func addParam(_ name: String, _ type: TensorType, _ initializer: Initializer,
                                  role: Param.Role = .param, at location: SourceLocation? = nil) throws {
        try claim(name, at: location)
        graph.params.append(Param(name: name, type: type, initializer: initializer, role: role, location: location))
        paramNames.insert(name)
        types[name] = type
    }

    /// Adds a node and returns its name. `attributes` are as written; they are checked
    /// against the op's signature and completed with defaults.
    @discardableResult
    public mutating func add(_ op: OpKind, _ operands: [String], _ attributes: [(String, AttrValue)] = [],
                             name: String? = nil, type annotation: TensorType? = nil,
                             at location: SourceLocation? = nil) throws -> String {
        guard op.arity.accepts(operands.count) else {
            throw Diagnostic("\(op.name) expects \(op.arity.description), got \(operands.count)", at: location)
        }
        for operand in operands where !taken.contains(operand) {
            throw Diagnostic("use of undefined value '\(operand)'", at: location)
        }
        let attrs = try op.normalize(attributes, at: location)
        let nodeName = name ?? nextTemporary()
        try claim(nodeName, at: location)
        var node = Node(name: nodeName, op: op, operands: operands, attributes: attrs, type: annotation, location: location)
        if infersTypes { node.type = try inferType(of: node, types: types) }
        if let t = node.type { types[nodeName] = t }
        record(node, at: graph.nodes.count)
        graph.nodes.append(node)
        return nodeName
    }

    /// Adds a fully formed node (a pass re-emitting one it already checked, a fused kernel).
    public mutating func append(_ node: Node) throws {
        for name in node.definedNames { try claim(name, at: node.location) }
        for (name, type) in node.resultTypes { if let type { types[name] = type } }
        record(node, at: graph.nodes.count)
        graph.nodes.append(node)
    }

    /// Makes `name` an output, with an optional declared role (at most one output per role
    /// among loss, logits, probabilities and reconstruction, which consumers look up singly).
    public mutating func addOutput(_ name: String, role: OutputRole? = nil, at location: SourceLocation? = nil) throws {
        guard taken.contains(name) else { throw Diagnostic("output of undefined value '\(name)'\(Suggestions.hint(for: name, among: taken))", at: location) }
        guard !outputNames.contains(name) else { throw Diagnostic("'\(name)' is already an output", at: location) }
        if let role, role != .sample && role != .prediction, let other = graph.output(withRole: role) {
            throw Diagnostic("'\(other)' is already the output with role \(role.rawValue); a graph has one", at: location)
        }
        graph.outputs.append(name)
        outputNames.insert(name)
        if let role { graph.outputRoles[name] = role }
    }

    public mutating func addUpdate(_ target: String, _ value: String, at location: SourceLocation? = nil) throws {
        guard paramNames.contains(target) else {
            throw Diagnostic("update target '\(target)' is not a param or state", at: location)
        }
        guard taken.contains(value) else { throw Diagnostic("update from undefined value '\(value)'", at: location) }
        guard !updateTargets.contains(target) else {
            throw Diagnostic("'\(target)' is updated twice", at: location)
        }
        graph.updates.append(StateUpdate(target: target, value: value, location: location))
        updateTargets.insert(target)
        updateValues.insert(value)
    }

    /// A `%N` name not yet taken, N starting at the index the next node will have.
    public mutating func nextTemporary() -> String {
        var n = graph.nodes.count
        while taken.contains("%\(n)") { n += 1 }
        return "%\(n)"
    }

    private mutating func claim(_ name: String, at location: SourceLocation?) throws {
        guard !taken.contains(name) else { throw Diagnostic("redefinition of '\(name)'", at: location) }
        taken.insert(name)
    }
}

extension OpKind {
    /// Checks attribute names and kinds against the signature and fills in defaults.
    public func normalize(_ given: [(String, AttrValue)], at location: SourceLocation? = nil) throws -> Attributes {
        var result = Attributes()
        for (name, value) in given {
            guard let spec = attributeSpec(named: name) else {
                let known = attributes.map(\.name)
                let hint = known.isEmpty ? "it takes none"
                    : Suggestions.closest(to: name, among: known).map { "did you mean '\($0)'?" }
                    ?? "expected one of: " + known.joined(separator: ", ")
                throw Diagnostic("\(self.name) has no attribute '\(name)' (\(hint))", at: location)
            }
            guard result[name] == nil else { throw Diagnostic("attribute '\(name)' given twice", at: location) }
            result[name] = try coerce(value, to: spec.kind, attribute: name, at: location)
        }
        for spec in attributes where result[spec.name] == nil {
            switch spec.defaultValue {
            case .required: throw Diagnostic("\(self.name) needs attribute '\(spec.name)'", at: location)
            case .value(let v): result[spec.name] = v
            case .sameAs: break
            }
        }
        for spec in attributes where result[spec.name] == nil {
            if case .sameAs(let other) = spec.defaultValue { result[spec.name] = result[other] }
        }
        return result
    }

    private func coerce(_ value: AttrValue, to kind: AttrKind, attribute: String, at location: SourceLocation?) throws -> AttrValue {
        switch (kind, value) {
        case (.int, .int), (.float, .float), (.ints, .ints), (.bool, .bool), (.dtype, .dtype): return value
        case (.float, .int(let v)): return .float(Double(v))
        case (.ints, .int(let v)): return .ints([v])
        default:
            throw Diagnostic("attribute '\(attribute)' of \(name) expects \(kind.article), got \(value)", at: location)
        }
    }
}

extension AttrKind {
    var article: String {
        switch self {
        case .int: return "an integer"
        case .float: return "a number"
        case .ints: return "a list of integers"
        case .bool: return "true or false"
        case .dtype: return "an element type (f32 or i32)"
        }
    }
}

extension GraphBuilder {
    /// Renames a node defined by this builder and rewrites its uses. Passes use it to give a
    /// value its final, readable name (`d_w1`) once they know which node carries it.
    public mutating func rename(_ old: String, to new: String) throws {
        guard let index = nodeIndex[old] else {
            throw Diagnostic("cannot rename '\(old)': no such node")
        }
        guard !taken.contains(new) else { throw Diagnostic("cannot rename '\(old)' to '\(new)': name taken") }
        taken.remove(old)
        taken.insert(new)
        if let t = types.removeValue(forKey: old) { types[new] = t }
        graph.nodes[index].name = new
        nodeIndex[old] = nil
        nodeIndex[new] = index
        let readers = users.removeValue(forKey: old) ?? []
        for i in readers where i > index {
            graph.nodes[i].operands = graph.nodes[i].operands.map { $0 == old ? new : $0 }
        }
        users[new, default: []].append(contentsOf: readers.filter { $0 > index })
        if outputNames.remove(old) != nil {
            graph.outputs = graph.outputs.map { $0 == old ? new : $0 }
            outputNames.insert(new)
            if let role = graph.outputRoles.removeValue(forKey: old) { graph.outputRoles[new] = role }
        }
        if updateValues.remove(old) != nil {
            for i in graph.updates.indices where graph.updates[i].value == old { graph.updates[i].value = new }
            updateValues.insert(new)
        }
    }

    /// `base` if free, else `base_1`, `base_2`, ….
    public func freeName(_ base: String) -> String {
        if !taken.contains(base) { return base }
        var n = 1
        while taken.contains("\(base)_\(n)") { n += 1 }
        return "\(base)_\(n)"
    }
}
