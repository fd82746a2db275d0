import KilnIR

/// Constant folding, algebraic identities, common-subexpression elimination and dead-code
/// elimination, repeated until nothing changes; then sums of padded pieces become
/// concatenations (`PadSums`) and a matrix many products read transposed is transposed once
/// (`SharedTranspose`). Outputs keep their names; parameters,
/// inputs and state are never removed (they are the graph's interface).
///
/// Identities that would be wrong for NaN or infinity (x·0 → 0) are not applied; x − x → 0
/// is, as in XLA's and LLVM's fast-math folding, since training graphs never rely on it.
public struct Simplify: Pass {
    public let name = "simplify"
    public init() {}

    public func run(_ graph: Graph) throws -> Graph {
        var g = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        for _ in 0..<32 {
            var changed = false
            g = rewrite(g, changed: &changed)
            g = DeadCodeElimination().eliminate(g, changed: &changed)
            if !changed { break }
        }
        return SharedTranspose.apply(PadSums.apply(g))
    }

    private struct CSEKey: Hashable {
        var op: OpKind
        var operands: [String]
        var attributes: Attributes
    }

    /// One forward sweep applying folding, identities and CSE through a substitution map.
    private func rewrite(_ graph: Graph, changed: inout Bool) -> Graph {
        var result = graph
        result.nodes = []
        let outputs = Set(graph.outputs)
        var substitution: [String: String] = [:]
        var constants: [String: Float] = [:]
        var definitions: [String: Node] = [:]
        var seen: [CSEKey: String] = [:]
        var types = graph.valueTypes

        for original in graph.nodes {
            var node = original
            node.operands = node.operands.map { substitution[$0] ?? $0 }
            if node.operands != original.operands { changed = true }
            if node.op == .fused {
                // Kernels are opaque here; only their operand names follow the substitution.
                node.region = node.region?.map { inner in
                    var inner = inner
                    inner.operands = inner.operands.map { substitution[$0] ?? $0 }
                    return inner
                }
                for (name, type) in node.resultTypes { if let type { types[name] = type } }
                result.nodes.append(node)
                continue
            }

            if node.op != .constant, let value = ConstantFolding.fold(node, constants: constants), let type = node.type {
                node = Node(name: node.name, op: .constant, operands: [],
                            attributes: Attributes(["value": .float(ConstantFolding.canonical(value)),
                                                    "shape": .ints(type.shape.dims), "dtype": .dtype(.f32)]),
                            type: type, location: node.location)
                changed = true
            }
            if outputs.contains(node.name) {
                // An output keeps its name: if it reduces to a temporary, that node takes the name.
                if case .value(let v)? = identity(node, constants: constants, definitions: definitions, types: types),
                   !outputs.contains(v), let index = result.nodes.firstIndex(where: { $0.name == v }),
                   result.nodes[index].region == nil {  // a fused kernel's result is also named in its body
                    result.nodes[index].name = node.name
                    for i in result.nodes.indices where i > index {
                        result.nodes[i].operands = result.nodes[i].operands.map { $0 == v ? node.name : $0 }
                    }
                    // Earlier substitutions that resolved to `v` (d_v → v) must follow the rename,
                    // or a later reader of d_v would be rewritten to a name that no longer exists.
                    substitution = substitution.mapValues { $0 == v ? node.name : $0 }
                    substitution[v] = node.name
                    if let d = definitions.removeValue(forKey: v) { definitions[node.name] = d }
                    if let c = constants.removeValue(forKey: v) { constants[node.name] = c }
                    seen = seen.mapValues { $0 == v ? node.name : $0 }
                    changed = true
                    continue
                }
            } else {
                if let replacement = identity(node, constants: constants, definitions: definitions, types: types) {
                    switch replacement {
                    case .value(let name):
                        substitution[node.name] = name
                        changed = true
                        continue
                    case .node(let rewritten):
                        node = rewritten
                        changed = true
                    }
                }
                if !node.op.isRandom {
                    let key = CSEKey(op: node.op, operands: node.operands, attributes: node.attributes)
                    if let existing = seen[key], types[existing] == node.type {
                        substitution[node.name] = existing
                        changed = true
                        continue
                    }
                    seen[key] = node.name
                }
            }
            if node.op == .constant, node.type?.dtype == .f32 { constants[node.name] = Float(node.attributes.float("value")) }
            definitions[node.name] = node
            if let t = node.type { types[node.name] = t }
            result.nodes.append(node)
        }
        result.updates = graph.updates.map { u in
            var u = u
            u.value = substitution[u.value] ?? u.value
            return u
        }
        return result
    }

    private enum Replacement {
        case value(String)
        case node(Node)
    }

    /// Algebraic identities. A replacement value must have exactly the node's type.
    private func identity(_ node: Node, constants: [String: Float], definitions: [String: Node],
                          types: [String: TensorType]) -> Replacement? {
        let ops = node.operands
        func isConstant(_ name: String, _ value: Float) -> Bool { constants[name] == value }
        func same(_ name: String) -> Replacement? { types[name] == node.type ? .value(name) : nil }
        func producer(_ name: String, _ op: OpKind) -> Node? {
            guard let d = definitions[name], d.op == op else { return nil }
            return d
        }
        switch node.op {
        case .add:
            if isConstant(ops[1], 0) { return same(ops[0]) }
            if isConstant(ops[0], 0) { return same(ops[1]) }
        case .sub:
            if isConstant(ops[1], 0) { return same(ops[0]) }
            if ops[0] == ops[1], let type = node.type, type.dtype == .f32 {
                return .node(Node(name: node.name, op: .constant, operands: [],
                                  attributes: Attributes(["value": .float(0), "shape": .ints(type.shape.dims), "dtype": .dtype(.f32)]),
                                  type: type, location: node.location))
            }
        case .mul:
            if isConstant(ops[1], 1) { return same(ops[0]) }
            if isConstant(ops[0], 1) { return same(ops[1]) }
        case .div:
            if isConstant(ops[1], 1) { return same(ops[0]) }
        case .neg:
            if let inner = producer(ops[0], .neg) { return same(inner.operands[0]) }
        case .log:
            if let inner = producer(ops[0], .exp) { return same(inner.operands[0]) }
        case .select:
            if ops[1] == ops[2] { return same(ops[1]) }
        case .reshape, .broadcast_to:
            if types[ops[0]] == node.type { return .value(ops[0]) }
            if node.op == .reshape, let inner = producer(ops[0], .reshape) {
                var merged = node
                merged.operands = [inner.operands[0]]
                return types[inner.operands[0]] == node.type ? .value(inner.operands[0]) : .node(merged)
            }
        case .transpose:
            let perm = node.attributes.ints("perm")
            if perm == Array(perm.indices) { return .value(ops[0]) }
            if let inner = producer(ops[0], .transpose) {
                let innerPerm = inner.attributes.ints("perm")
                let composed = perm.map { innerPerm[$0] }
                if composed == Array(composed.indices) { return same(inner.operands[0]) }
                var merged = node
                merged.operands = [inner.operands[0]]
                merged.attributes["perm"] = .ints(composed)
                return .node(merged)
            }
        default:
            break
        }
        return nil
    }
}

/// Removes nodes no output or state update depends on.
public struct DeadCodeElimination: Pass {
    public let name = "dce"
    public init() {}

    public func run(_ graph: Graph) throws -> Graph {
        var changed = false
        return eliminate(graph, changed: &changed)
    }

    func eliminate(_ graph: Graph, changed: inout Bool) -> Graph {
        var live = Set(graph.outputs).union(graph.updates.map(\.value))
        for node in graph.nodes.reversed() where node.resultNames.contains(where: live.contains) {
            live.formUnion(node.operands)
        }
        var result = graph
        result.nodes = graph.nodes.filter { $0.resultNames.contains(where: live.contains) }
        if result.nodes.count != graph.nodes.count { changed = true }
        return result
    }
}
