/// Infers the type of one node from the types of its operands, checking any annotation.
/// Errors name the op, the node's location and the shapes involved.
public func inferType(of node: Node, types: [String: TensorType]) throws -> TensorType {
    var operandTypes: [TensorType] = []
    for operand in node.operands {
        guard let t = types[operand] else {
            throw Diagnostic("\(node.op.name): type of operand '\(operand)' is unknown", at: node.location)
        }
        operandTypes.append(t)
    }
    let inferred: TensorType
    do {
        inferred = try node.op.resultType(operandTypes, node.attributes)
    } catch let error as TypeError {
        throw Diagnostic("\(node.op.name): \(error.message)", at: node.location)
    }
    guard representableCount(inferred.shape.dims) != nil else {
        throw Diagnostic("\(node.op.name): result \(inferred) has more than 2^40 elements", at: node.location)
    }
    if let annotated = node.type, annotated != inferred {
        throw Diagnostic("'\(node.name)' is annotated \(annotated) but \(node.op.name) gives \(inferred)", at: node.location)
    }
    return inferred
}

/// Types a fused kernel's body from its operands' types and sets the kernel's own type.
public func inferFusedTypes(_ node: inout Node, types: [String: TensorType]) throws {
    guard var body = node.region else { throw Diagnostic("fused kernel '\(node.name)' has no body", at: node.location) }
    var local: [String: TensorType] = [:]
    for operand in node.operands { local[operand] = types[operand] }
    for index in body.indices {
        let t = try inferType(of: body[index], types: local)
        body[index].type = t
        local[body[index].name] = t
    }
    node.region = body
    guard let resultType = local[node.name] else {
        throw Diagnostic("result '\(node.name)' is not defined in the kernel body", at: node.location)
    }
    if let annotated = node.type, annotated != resultType {
        throw Diagnostic("'\(node.name)' is annotated \(annotated) but its body gives \(resultType)", at: node.location)
    }
    node.type = resultType
}

/// Gives every node its type, in program order (a verified graph defines before use).
public func inferTypes(_ graph: Graph) throws -> Graph {
    var result = graph
    var types: [String: TensorType] = [:]
    for input in graph.inputs { types[input.name] = input.type }
    for param in graph.params { types[param.name] = param.type }
    for index in result.nodes.indices {
        if result.nodes[index].op == .fused {
            try inferFusedTypes(&result.nodes[index], types: types)
        } else {
            result.nodes[index].type = try inferType(of: result.nodes[index], types: types)
        }
        for (name, type) in result.nodes[index].resultTypes { types[name] = type }
    }
    try checkUpdateTypes(result, types: types)
    return result
}

private func checkUpdateTypes(_ graph: Graph, types: [String: TensorType]) throws {
    var params: [String: Param] = [:]
    for param in graph.params where params[param.name] == nil { params[param.name] = param }
    for update in graph.updates {
        guard let target = params[update.target], let t = types[update.value] else { continue }
        guard t == target.type else {
            throw Diagnostic("update of '\(update.target)' (\(target.type)) from '\(update.value)' of type \(t)", at: update.location)
        }
    }
}

/// Every independent type error of `graph` (at most `limit`), for `kiln check`: a node whose
/// inference fails is reported, and nodes that read its results are skipped rather than
/// reported again.
public func typeErrors(_ graph: Graph, limit: Int = 20) -> [Diagnostic] {
    var errors: [Diagnostic] = []
    var types: [String: TensorType] = [:]
    var failed: Set<String> = []
    for input in graph.inputs { types[input.name] = input.type }
    for param in graph.params { types[param.name] = param.type }
    for var node in graph.nodes {
        if node.operands.contains(where: failed.contains) {
            failed.formUnion(node.resultNames)
            continue
        }
        do {
            if node.op == .fused {
                try inferFusedTypes(&node, types: types)
            } else {
                node.type = try inferType(of: node, types: types)
            }
            for (name, type) in node.resultTypes { types[name] = type }
        } catch let d as Diagnostic {
            errors.append(d)
            failed.formUnion(node.resultNames)
            if errors.count >= limit { return errors }
        } catch {
            errors.append(Diagnostic("\(error)", at: node.location))
            failed.formUnion(node.resultNames)
        }
    }
    if errors.isEmpty {
        // Update statements are checked once every node has a type.
        do { _ = try inferTypes(graph) } catch let d as Diagnostic { errors.append(d) } catch {}
    }
    return errors
}
