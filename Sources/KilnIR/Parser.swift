/// Parses `.kiln` text into a `Graph` (grammar in Docs/IR.md). Nested calls become
/// anonymous `%N` nodes in evaluation order; numeric literals become `constant` nodes.
/// Types are not inferred here (annotations are kept and checked by inference).
public struct Parser {
    let file: String
    var tokens: [Token] = []
    var position = 0
    var builder: GraphBuilder
    /// How deep the call being parsed is nested (`relu(relu(…))`), bounded by `maximumNesting`.
    var depth = 0
    /// Values whose definition failed to parse, when reporting every error: uses of them are
    /// consequences of the first error, not new ones.
    var poisoned: Set<String> = []
    /// Every error found so far, when reporting every error (`parseReportingAll`).
    var diagnostics: [Diagnostic] = []
    var recovering = false
    var errorLimit = 20

    /// The deepest nesting of calls accepted. The parser recurses once per level, so without a
    /// bound ~15,000 levels overflow the stack; 256 is far beyond any hand-written or generated
    /// graph (the printer flattens nesting) and safe on a 512 KiB thread stack in debug builds.
    public static let maximumNesting = 256

    /// Parses one graph. Errors are `Diagnostic`s carrying `file:line:col`.
    public static func parse(_ text: String, file: String = "<input>") throws -> Graph {
        var parser = Parser(file: file)
        parser.tokens = try Lexer(file: file).tokens(text)
        return try parser.parseGraph()
    }

    init(file: String) {
        self.file = file
        builder = GraphBuilder(name: "", sourceFile: file)
    }

    var current: Token { tokens[position] }
    var location: SourceLocation { location(of: current) }
    func location(of token: Token) -> SourceLocation {
        SourceLocation(file: file, line: token.line, column: token.column)
    }

    mutating func next() -> Token {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    func peek(_ offset: Int = 1) -> Token { tokens[Swift.min(position + offset, tokens.count - 1)] }

    func error(_ message: String, at token: Token? = nil) -> Diagnostic {
        Diagnostic(message, at: location(of: token ?? current))
    }

    mutating func expect(_ symbol: Character, _ context: String) throws {
        guard current.kind == .symbol(symbol) else {
            throw error("expected '\(symbol)' \(context), found \(current.spelling)")
        }
        _ = next()
    }

    mutating func identifier(_ what: String) throws -> String {
        guard case .identifier(let name) = current.kind else { throw error("expected \(what), found \(current.spelling)") }
        _ = next()
        return name
    }

    mutating func isSymbol(_ c: Character) -> Bool { current.kind == .symbol(c) }

    mutating func parseGraph() throws -> Graph {
        guard case .identifier("graph") = current.kind else { throw error("expected 'graph', found \(current.spelling)") }
        _ = next()
        let name = try identifier("a graph name")
        builder = GraphBuilder(name: name, sourceFile: file)
        try expect("{", "after the graph name")
        while !isSymbol("}") {
            if current.kind == .end { throw error("graph '\(name)' is not closed: expected '}' before end of file") }
            let start = position
            do {
                try parseStatement()
            } catch let failure where recovering {
                try recover(from: failure, statementStart: start)
            }
        }
        let close = next()
        if current.kind != .end { throw error("unexpected \(current.spelling) after the end of graph '\(name)'") }
        if builder.graph.outputs.isEmpty && diagnostics.isEmpty {
            throw error("graph '\(name)' has no output", at: close)
        }
        return builder.graph
    }

    mutating func parseStatement() throws {
        let start = current
        guard case .identifier(let word) = start.kind else {
            throw error("expected a statement (input, param, state, output, update or a definition), found \(start.spelling)")
        }
        let isDefinition = peek().kind == .symbol("=") || peek().kind == .symbol(":")
        switch word {
        case "input" where !isDefinition:
            _ = next()
            let nameToken = current
            let name = try identifier("an input name")
            try expect(":", "after input '\(name)'")
            try builder.addInput(name, try parseType(), at: location(of: nameToken))
        case "param" where !isDefinition, "state" where !isDefinition:
            _ = next()
            let nameToken = current
            let name = try identifier("a \(word) name")
            try expect(":", "after \(word) '\(name)'")
            let type = try parseType()
            try expect("=", "before the initializer of '\(name)'")
            let initializer = try parseInitializer()
            try builder.addParam(name, type, initializer, role: word == "state" ? .state : .param, at: location(of: nameToken))
        case "output" where !isDefinition:
            _ = next()
            repeat {
                let token = current
                let output = try identifier("an output name")
                if poisoned.contains(output) { throw ConsequentialError() }
                var role: OutputRole?
                // `as` is the role keyword unless it starts a definition (`as = relu(x)`).
                if case .identifier("as") = current.kind, peek().kind != .symbol("="), peek().kind != .symbol(":") {
                    _ = next()
                    let roleToken = current
                    let spelling = try identifier("an output role")
                    guard let known = OutputRole(rawValue: spelling) else {
                        throw error("unknown output role '\(spelling)' (\(OutputRole.spellings))", at: roleToken)
                    }
                    role = known
                }
                try builder.addOutput(output, role: role, at: location(of: token))
            } while isSymbolThenAdvance(",")
        case "update" where !isDefinition:
            _ = next()
            let token = current
            let target = try identifier("the name of a param or state")
            try expect("=", "after update target '\(target)'")
            let valueToken = current
            let value = try identifier("a value name")
            guard builder.isDefined(value) else { throw undefinedValue(value, at: valueToken, what: "update from undefined value") }
            try builder.addUpdate(target, value, at: location(of: token))
        default:
            try parseDefinition()
        }
    }

    mutating func isSymbolThenAdvance(_ c: Character) -> Bool {
        guard isSymbol(c) else { return false }
        _ = next()
        return true
    }

    mutating func parseDefinition() throws {
        let nameToken = current
        let name = try identifier("a value name")
        var annotation: TensorType?
        if isSymbolThenAdvance(":") { annotation = try parseType() }
        try skipPlacement()
        var results = [(name, annotation, nameToken)]
        while isSymbolThenAdvance(",") {
            let token = current
            let extra = try identifier("a result name")
            results.append((extra, isSymbolThenAdvance(":") ? try parseType() : nil, token))
            try skipPlacement()
        }
        try expect("=", "after '\(name)'")
        for (result, _, token) in results where builder.isDefined(result) {
            throw error("redefinition of '\(result)'", at: token)
        }
        let exprToken = current
        if case .identifier(let callee) = current.kind, callee.hasPrefix("fused"), peek().kind == .symbol("(") {
            try parseFusedKernel(results: results)
            return
        }
        if results.count > 1 { throw error("only a fused kernel defines several values", at: results[1].2) }
        guard case .identifier = current.kind, peek().kind == .symbol("(") else {
            if current.kind == .symbol("-") || { if case .number = current.kind { return true }; return false }() {
                let value = try parseSignedNumber()
                try builder.add(.constant, [], [("value", .float(value))], name: name, type: annotation, at: location(of: exprToken))
                return
            }
            throw error("expected an op call after '\(name) =', found \(current.spelling)")
        }
        _ = try parseCall(name: name, annotation: annotation)
    }

    /// Skips a memory-plan placement `@arena+OFFSET` printed after a result's type: it is
    /// informational (planning recomputes it), so parsing drops it.
    mutating func skipPlacement() throws {
        guard isSymbolThenAdvance("@") else { return }
        let token = current
        guard case .identifier("arena") = token.kind else { throw error("expected 'arena' after '@', found \(token.spelling)") }
        _ = next()
        try expect("+", "in a placement '@arena+OFFSET'")
        _ = try parseInteger("arena offset")
    }

    /// Parses `op(operands..., attr=value...)` and returns the defining node's name.
    mutating func parseCall(name: String?, annotation: TensorType?) throws -> String {
        let opToken = current
        let opName = try identifier("an op name")
        guard let op = OpKind(name: opName) else { throw unknownOp(opName, at: opToken) }
        guard depth < Self.maximumNesting else {
            throw error("calls nested deeper than \(Self.maximumNesting) levels; name intermediate values instead", at: opToken)
        }
        depth += 1
        defer { depth -= 1 }
        try expect("(", "after '\(opName)'")
        var operands: [String] = []
        var attributes: [(String, AttrValue)] = []
        if !isSymbol(")") {
            repeat {
                if case .identifier(let key) = current.kind, peek().kind == .symbol("=") {
                    _ = next(); _ = next()
                    attributes.append((key, try parseAttrValue(for: key)))
                } else {
                    let operandToken = current
                    guard attributes.isEmpty else { throw error("operands must come before attributes", at: operandToken) }
                    operands.append(try parseOperand())
                }
            } while isSymbolThenAdvance(",")
        }
        try expect(")", "to close the call to '\(opName)'")
        return try builder.add(op, operands, attributes, name: name, type: annotation, at: location(of: opToken))
    }

    mutating func parseOperand() throws -> String {
        let token = current
        switch token.kind {
        case .identifier where peek().kind == .symbol("("):
            return try parseCall(name: nil, annotation: nil)
        case .identifier(let name):
            _ = next()
            guard builder.isDefined(name) else { throw undefinedValue(name, at: token) }
            return name
        case .number, .symbol("-"):
            let value = try parseSignedNumber()
            return try builder.add(.constant, [], [("value", .float(value))], at: location(of: token))
        default:
            throw error("expected an operand, found \(token.spelling)")
        }
    }

    mutating func parseSignedNumber() throws -> Double {
        let negative = isSymbolThenAdvance("-")
        let v = try parseUnsignedNumber()
        return negative ? -v : v
    }

    mutating func parseUnsignedNumber() throws -> Double {
        let token = current
        switch token.kind {
        case .number(let text):
            _ = next()
            guard let v = Double(text) else { throw error("malformed number '\(text)'", at: token) }
            return v
        case .identifier("inf"):
            _ = next()
            return .infinity
        case .identifier("nan"):
            // formatFloat prints NaN as `nan`; read it back so every printed graph parses.
            _ = next()
            return .nan
        default:
            throw error("expected a number, found \(token.spelling)")
        }
    }

    mutating func parseInteger(_ what: String) throws -> Int {
        let negative = isSymbolThenAdvance("-")
        let token = current
        guard case .number(let text) = token.kind, let v = Int(text) else {
            throw error("expected an integer \(what), found \(token.spelling)")
        }
        _ = next()
        return negative ? -v : v
    }

    mutating func parseAttrValue(for key: String) throws -> AttrValue {
        let token = current
        switch token.kind {
        case .symbol("["):
            _ = next()
            var values: [Int] = []
            if !isSymbol("]") {
                repeat { values.append(try parseInteger("in the list for '\(key)'")) } while isSymbolThenAdvance(",")
            }
            try expect("]", "to close the list for '\(key)'")
            return .ints(values)
        case .identifier("true"): _ = next(); return .bool(true)
        case .identifier("false"): _ = next(); return .bool(false)
        case .identifier(let word):
            if let dtype = DType(rawValue: word) { _ = next(); return .dtype(dtype) }
            if word == "inf" || word == "nan" { return .float(try parseUnsignedNumber()) }
            throw error("expected a value for attribute '\(key)', found \(token.spelling)")
        case .number, .symbol("-"):
            let negative = isSymbolThenAdvance("-")
            if case .number(let digits) = current.kind, let i = Int(digits) {
                _ = next()
                return .int(negative ? -i : i)
            }
            let v = try parseUnsignedNumber()
            return .float(negative ? -v : v)
        default:
            throw error("expected a value for attribute '\(key)', found \(token.spelling)")
        }
    }

    mutating func parseType() throws -> TensorType {
        let token = current
        let word = try identifier("an element type (f32 or i32)")
        guard let dtype = DType(rawValue: word) else {
            throw error("unknown element type '\(word)' (expected f32 or i32)", at: token)
        }
        try expect("[", "after element type '\(word)'")
        var dims: [Int] = []
        if !isSymbol("]") {
            repeat {
                let dimToken = current
                let dim = try parseInteger("dimension")
                guard dim > 0 else { throw error("dimension must be positive, got \(dim)", at: dimToken) }
                dims.append(dim)
            } while isSymbolThenAdvance(",")
        }
        try expect("]", "to close the shape")
        let type = TensorType(dtype, Shape(dims))
        guard representableCount(dims) != nil else { throw error("type \(type) has more than 2^40 elements", at: token) }
        return type
    }

    mutating func parseInitializer() throws -> Initializer {
        let token = current
        let name = try identifier("an initializer")
        var args: [Double] = []
        // The option spelling of the command line: `normal:std=0.01`, `uniform:a=0.05`.
        if isSymbolThenAdvance(":") {
            var options: [String: Double] = [:]
            repeat {
                let keyToken = current
                let key = try identifier("an initializer option")
                try expect("=", "after '\(key)'")
                guard options[key] == nil else { throw error("initializer option '\(key)' is given twice", at: keyToken) }
                options[key] = try parseSignedNumber()
            } while isSymbolThenAdvance(",")
            return try initializerWithOptions(name, options, at: token)
        }
        if isSymbolThenAdvance("(") {
            if !isSymbol(")") {
                repeat { args.append(try parseSignedNumber()) } while isSymbolThenAdvance(",")
            }
            try expect(")", "to close the arguments of '\(name)'")
        }
        func arity(_ n: Int) throws {
            guard args.count == n else { throw error("initializer '\(name)' takes \(n) argument\(n == 1 ? "" : "s"), got \(args.count)", at: token) }
        }
        switch name {
        case "zeros": try arity(0); return .zeros
        case "ones": try arity(0); return .ones
        case "glorot_uniform": try arity(0); return .glorotUniform
        case "he_normal": try arity(0); return .heNormal
        case "glorot_normal": try arity(0); return .glorotNormal
        case "he_uniform": try arity(0); return .heUniform
        case "constant": try arity(1); return .constant(args[0])
        case "uniform":
            try arity(2)
            guard args[0] < args[1] else { throw error("uniform needs low < high, got \(formatFloat(args[0])), \(formatFloat(args[1]))", at: token) }
            return .uniform(args[0], args[1])
        case "normal":
            try arity(2)
            guard args[1] >= 0 else { throw error("normal needs std >= 0, got \(formatFloat(args[1]))", at: token) }
            return .normal(mean: args[0], std: args[1])
        default:
            throw error("unknown initializer '\(name)' (expected zeros, ones, constant(v), uniform(lo, hi), uniform:a=A, normal(mean, std), "
                        + "normal:std=S[,mean=M], glorot_uniform, glorot_normal, he_normal or he_uniform)", at: token)
        }
    }

    /// `normal:std=S[,mean=M]` (mean 0 by default) and `uniform:a=A` (U(−A, A)).
    private func initializerWithOptions(_ name: String, _ options: [String: Double], at token: Token) throws -> Initializer {
        func take(_ accepted: Set<String>) throws {
            if let unknown = options.keys.sorted().first(where: { !accepted.contains($0) }) {
                throw error("initializer '\(name)' has no option '\(unknown)' (it takes \(accepted.sorted().joined(separator: ", ")))", at: token)
            }
        }
        switch name {
        case "normal":
            try take(["std", "mean"])
            guard let std = options["std"] else { throw error("normal: needs std=S", at: token) }
            guard std >= 0, std.isFinite else { throw error("normal needs a finite std >= 0, got \(formatFloat(std))", at: token) }
            return .normal(mean: options["mean"] ?? 0, std: std)
        case "uniform":
            try take(["a"])
            guard let a = options["a"] else { throw error("uniform: needs a=A", at: token) }
            guard a > 0, a.isFinite else { throw error("uniform needs a finite a > 0, got \(formatFloat(a))", at: token) }
            return .uniform(-a, a)
        default:
            throw error("initializer '\(name)' takes no options (options are for normal:std=S and uniform:a=A)", at: token)
        }
    }
}
