extension Parser {
    /// `a: T, b: T = fused_…(operands) { body }`: the body's definitions read only the
    /// kernel's operands and each other; the left-hand names are body values written out.
    mutating func parseFusedKernel(results: [(String, TensorType?, Token)]) throws {
        let kernelToken = current
        _ = next()
        try expect("(", "after the fused kernel's name")
        var operands: [String] = []
        if !isSymbol(")") {
            repeat {
                let token = current
                let operand = try identifier("an operand name")
                guard builder.isDefined(operand) else { throw undefinedValue(operand, at: token) }
                operands.append(operand)
            } while isSymbolThenAdvance(",")
        }
        try expect(")", "to close the fused kernel's operands")
        try expect("{", "to open the fused kernel's body")
        var visible = Set(operands)
        var body: [Node] = []
        while !isSymbol("}") {
            if current.kind == .end { throw error("fused kernel body is not closed: expected '}' before end of file") }
            let nameToken = current
            let name = try identifier("a body definition")
            guard !visible.contains(name), !builder.isDefined(name) else { throw error("redefinition of '\(name)'", at: nameToken) }
            var annotation: TensorType?
            if isSymbolThenAdvance(":") { annotation = try parseType() }
            try expect("=", "after '\(name)'")
            let opToken = current
            let opName = try identifier("an op name")
            guard let op = OpKind(name: opName), op != .fused else {
                throw error("unknown op '\(opName)' in a fused body\(Suggestions.hint(for: opName, among: OpKind.allCases.map(\.name)))", at: opToken)
            }
            try expect("(", "after '\(opName)'")
            var args: [String] = []
            var attributes: [(String, AttrValue)] = []
            if !isSymbol(")") {
                repeat {
                    let token = current
                    guard case .identifier(let word) = token.kind else {
                        throw error("fused bodies take value names as operands, found \(token.spelling)")
                    }
                    if peek().kind == .symbol("=") {
                        _ = next(); _ = next()
                        attributes.append((word, try parseAttrValue(for: word)))
                    } else {
                        _ = next()
                        guard attributes.isEmpty else { throw error("operands must come before attributes", at: token) }
                        guard visible.contains(word) else {
                            throw error("'\(word)' is neither an operand of the kernel nor defined in its body", at: token)
                        }
                        args.append(word)
                    }
                } while isSymbolThenAdvance(",")
            }
            try expect(")", "to close the call to '\(opName)'")
            guard op.arity.accepts(args.count) else {
                throw error("\(op.name) expects \(op.arity.description), got \(args.count)", at: opToken)
            }
            let attrs = try op.normalize(attributes, at: location(of: opToken))
            body.append(Node(name: name, op: op, operands: args, attributes: attrs, type: annotation, location: location(of: opToken)))
            visible.insert(name)
        }
        _ = next()
        guard !body.isEmpty else { throw error("a fused kernel needs a body", at: kernelToken) }
        for (result, type, token) in results {
            guard let definition = body.first(where: { $0.name == result }) else {
                throw error("result '\(result)' is not defined in the kernel body", at: token)
            }
            if let type, let bodyType = definition.type, type != bodyType {
                throw error("result '\(result)' is annotated \(type) but its body definition says \(bodyType)", at: token)
            }
        }
        let kernel = Node(name: results[0].0, op: .fused, operands: operands, type: results[0].1,
                          location: location(of: kernelToken), region: body, extraResults: results.dropFirst().map(\.0))
        try builder.append(kernel)
    }
}
