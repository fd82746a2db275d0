/// Error recovery: `kiln check` reports every independent error of a file, not just the first.
/// After an error the parser skips to the next statement (the first token on a later line,
/// outside any `{ … }` body the failed statement opened) and carries on; values the failed
/// statement would have defined are "poisoned", so their later uses are not reported again.
extension Parser {
    /// Parses `text` and returns every independent error found (at most `limit`; the last one
    /// says when more were left out) and the graph of the statements that parsed — complete when
    /// there is no error, otherwise partial but consistent (a failed statement is left out, and
    /// so is every statement using what it defines), so type errors can be looked for in it too.
    public static func parseReportingAll(_ text: String, file: String = "<input>", limit: Int = 20) -> (graph: Graph, diagnostics: [Diagnostic]) {
        var parser = Parser(file: file)
        parser.recovering = true
        parser.errorLimit = Swift.max(1, limit)
        do {
            parser.tokens = try Lexer(file: file).tokens(text)
            let graph = try parser.parseGraph()
            return (graph, parser.diagnostics)
        } catch let d as Diagnostic {
            return (parser.builder.graph, parser.diagnostics + [d])
        } catch {
            return (parser.builder.graph, parser.diagnostics)
        }
    }

    /// Thrown for a use of a poisoned value: a consequence of an error already reported.
    struct ConsequentialError: Error {}
    /// Thrown once `errorLimit` errors are collected.
    struct ErrorLimitReached: Error {}

    /// The error for a use of an undefined value, with a "did you mean" hint from the names
    /// defined so far.
    func undefinedValue(_ name: String, at token: Token, what: String = "use of undefined value") -> Error {
        if poisoned.contains(name) { return ConsequentialError() }
        return error("\(what) '\(name)'\(Suggestions.hint(for: name, among: builder.definedNames))", at: token)
    }

    func unknownOp(_ name: String, at token: Token) -> Diagnostic {
        error("unknown op '\(name)'\(Suggestions.hint(for: name, among: OpKind.allCases.map(\.name)))", at: token)
    }

    /// Records `failure`, poisons what the statement starting at token `statementStart` defines,
    /// and skips to the next statement.
    mutating func recover(from failure: Error, statementStart: Int) throws {
        if let d = failure as? Diagnostic {
            diagnostics.append(d)
        } else if !(failure is ConsequentialError) {
            throw failure
        }
        if diagnostics.count >= errorLimit {
            diagnostics.append(Diagnostic("too many errors (\(errorLimit)); stopping", at: location))
            throw ErrorLimitReached()
        }
        // Names before the statement's '=' (or all of a declaration's, which has no '=' before
        // its name) are what it would have defined.
        var index = statementStart
        while index < tokens.count, index <= position, tokens[index].kind != .symbol("=") {
            if case .identifier(let word) = tokens[index].kind { poisoned.insert(word) }
            index += 1
        }
        var braces = 0
        for token in tokens[statementStart..<position] {
            if token.kind == .symbol("{") { braces += 1 }
            if token.kind == .symbol("}") { braces -= 1 }
        }
        var lastLine = tokens[Swift.max(position - 1, statementStart)].line
        while current.kind != .end {
            if braces <= 0 && position > statementStart && (current.line > lastLine || current.kind == .symbol("}")) { break }
            if current.kind == .symbol("{") { braces += 1 }
            if current.kind == .symbol("}") { braces -= 1 }
            lastLine = current.line
            _ = next()
        }
    }
}
