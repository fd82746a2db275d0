/// Checks the structural invariants every pass may rely on: unique names, definition
/// before use (which, in a straight-line SSA list, also rules out cycles), arity,
/// complete and well-typed attributes, defined outputs and updates, and — where types
/// are present — that they agree with the shape rules.
public struct Verifier {
    public init() {}

    public func verify(_ graph: Graph) throws {
        var defined = Set<String>()
        var types: [String: TensorType] = [:]
        func define(_ name: String, _ location: SourceLocation?) throws {
            guard !defined.contains(name) else { throw Diagnostic("redefinition of '\(name)'", at: location) }
            defined.insert(name)
        }
        for input in graph.inputs {
            try define(input.name, input.location)
            types[input.name] = input.type
        }
        for param in graph.params {
            try define(param.name, param.location)
            types[param.name] = param.type
        }
        for node in graph.nodes {
            guard node.op.arity.accepts(node.operands.count) else {
                throw Diagnostic("\(node.op.name) expects \(node.op.arity.description), got \(node.operands.count)", at: node.location)
            }
            for operand in node.operands where !defined.contains(operand) {
                throw Diagnostic("'\(node.name)' uses '\(operand)' before it is defined", at: node.location)
            }
            if node.op == .fused {
                try verifyKernel(node)
                for name in node.definedNames { try define(name, node.location) }
                if node.type != nil || node.region?.contains(where: { $0.type != nil }) == true,
                   node.operands.allSatisfy({ types[$0] != nil }) {
                    var copy = node
                    try inferFusedTypes(&copy, types: types)
                    let typedBody = node.region?.allSatisfy { $0.type != nil } == true
                    guard !typedBody || copy.region == node.region else {
                        throw Diagnostic("fused kernel '\(node.name)': body types disagree with inference", at: node.location)
                    }
                    for (name, type) in copy.resultTypes { types[name] = type }
                }
                continue
            }
            try verifyAttributes(node)
            try define(node.name, node.location)
            // An annotation is checked here when the operands' types are known; one after an
            // unannotated node (`loss: f32[] = mul(s, 0.01)`) is checked by `inferTypes`.
            if node.type != nil, node.operands.allSatisfy({ types[$0] != nil }) {
                types[node.name] = try inferType(of: node, types: types)
            }
        }
        var seenOutputs = Set<String>()
        for output in graph.outputs {
            guard defined.contains(output) else { throw Diagnostic("output of undefined value '\(output)'") }
            guard seenOutputs.insert(output).inserted else { throw Diagnostic("'\(output)' is listed as an output twice") }
        }
        var seenTargets = Set<String>()
        let persistent = Set(graph.params.map(\.name))
        for update in graph.updates {
            guard persistent.contains(update.target) else {
                throw Diagnostic("update target '\(update.target)' is not a param or state", at: update.location)
            }
            guard defined.contains(update.value) else {
                throw Diagnostic("update from undefined value '\(update.value)'", at: update.location)
            }
            guard seenTargets.insert(update.target).inserted else {
                throw Diagnostic("'\(update.target)' is updated twice", at: update.location)
            }
        }
        if let plan = graph.memoryPlan { try verifyPlan(plan, graph) }
    }

    private func verifyAttributes(_ node: Node) throws {
        // Fast path: exactly the signature's attributes, each of its declared kind, is what
        // normalising gives back (coercions and defaults only apply to anything else). Saves
        // rebuilding every node's attributes, a quarter of verifying a large graph.
        let specs = node.op.attributes
        if node.attributes.values.count == specs.count,
           specs.allSatisfy({ spec in node.attributes[spec.name].map { $0.kind == spec.kind } ?? false }) {
            return
        }
        let normalized = try node.op.normalize(Array(node.attributes.values.map { ($0.key, $0.value) }), at: node.location)
        guard normalized == node.attributes else {
            throw Diagnostic("'\(node.name)': attributes of \(node.op.name) are not normalised", at: node.location)
        }
    }

    /// A kernel body reads only the kernel's operands and earlier body values, holds no
    /// nested kernels, and defines every result the kernel writes out.
    private func verifyKernel(_ kernel: Node) throws {
        guard let body = kernel.region, !body.isEmpty else {
            throw Diagnostic("fused kernel '\(kernel.name)' has no body", at: kernel.location)
        }
        var visible = Set(kernel.operands)
        for node in body {
            guard node.op != .fused else { throw Diagnostic("fused kernels do not nest ('\(node.name)')", at: node.location) }
            guard node.op.arity.accepts(node.operands.count) else {
                throw Diagnostic("\(node.op.name) expects \(node.op.arity.description), got \(node.operands.count)", at: node.location)
            }
            for operand in node.operands where !visible.contains(operand) {
                throw Diagnostic("'\(node.name)' in kernel '\(kernel.name)' reads '\(operand)', which is not an operand of the kernel", at: node.location)
            }
            try verifyAttributes(node)
            guard visible.insert(node.name).inserted else { throw Diagnostic("redefinition of '\(node.name)'", at: node.location) }
        }
        let defined = Set(body.map(\.name))
        for result in kernel.resultNames where !defined.contains(result) {
            throw Diagnostic("result '\(result)' is not defined in the body of kernel '\(kernel.name)'", at: kernel.location)
        }
    }
}

extension AttrValue {
    /// The kind of value this is (an attribute declared with that kind takes it unchanged).
    fileprivate var kind: AttrKind {
        switch self {
        case .int: return .int
        case .float: return .float
        case .ints: return .ints
        case .bool: return .bool
        case .dtype: return .dtype
        }
    }
}
