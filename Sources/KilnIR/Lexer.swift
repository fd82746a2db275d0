/// A token of `.kiln` text with its 1-based position.
struct Token: Equatable {
    enum Kind: Equatable {
        case identifier(String)
        case number(String)
        case symbol(Character)
        case end
    }

    var kind: Kind
    var line: Int
    var column: Int

    /// The token as it appears in the source, for messages.
    var spelling: String {
        switch kind {
        case .identifier(let s), .number(let s): return "'\(s)'"
        case .symbol(let c): return "'\(c)'"
        case .end: return "end of file"
        }
    }
}

/// Splits `.kiln` text into tokens. Newlines are plain whitespace (statements are
/// self-delimiting); `#` starts a comment that runs to the end of the line.
struct Lexer {
    let file: String

    func tokens(_ text: String) throws -> [Token] {
        var result: [Token] = []
        let chars = Array(text.unicodeScalars)
        var i = 0, line = 1, column = 1

        func advance() {
            if chars[i] == "\n" { line += 1; column = 1 } else { column += 1 }
            i += 1
        }
        func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c == "%" || c.properties.isAlphabetic }
        func isIdentBody(_ c: Unicode.Scalar) -> Bool { c == "_" || c == "." || c.properties.isAlphabetic || ("0"..."9").contains(c) }
        func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }

        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\r" || c == "\n" { advance(); continue }
            if c == "#" {
                while i < chars.count, chars[i] != "\n" { advance() }
                continue
            }
            let startLine = line, startColumn = column
            if isIdentStart(c) {
                var text = ""
                repeat { text.unicodeScalars.append(chars[i]); advance() } while i < chars.count && isIdentBody(chars[i])
                if text == "%" {
                    throw Diagnostic("expected a number or name after '%'", at: SourceLocation(file: file, line: startLine, column: startColumn))
                }
                result.append(Token(kind: .identifier(text), line: startLine, column: startColumn))
            } else if isDigit(c) || (c == "." && i + 1 < chars.count && isDigit(chars[i + 1])) {
                var text = ""
                while i < chars.count, isDigit(chars[i]) || chars[i] == "." { text.unicodeScalars.append(chars[i]); advance() }
                if i < chars.count, chars[i] == "e" || chars[i] == "E" {
                    text.unicodeScalars.append(chars[i]); advance()
                    if i < chars.count, chars[i] == "+" || chars[i] == "-" { text.unicodeScalars.append(chars[i]); advance() }
                    while i < chars.count, isDigit(chars[i]) { text.unicodeScalars.append(chars[i]); advance() }
                }
                if i < chars.count, isIdentStart(chars[i]) {
                    throw Diagnostic("malformed number '\(text)\(chars[i])'", at: SourceLocation(file: file, line: startLine, column: startColumn))
                }
                result.append(Token(kind: .number(text), line: startLine, column: startColumn))
            } else if "{}()[],=:-@+".unicodeScalars.contains(c) {
                result.append(Token(kind: .symbol(Character(c)), line: startLine, column: startColumn))
                advance()
            } else {
                throw Diagnostic("unexpected character \(Lexer.quoted(c))", at: SourceLocation(file: file, line: startLine, column: startColumn))
            }
        }
        result.append(Token(kind: .end, line: line, column: column))
        return result
    }

    /// `'c'` for a printable character, `U+0007` for a control, format or unassigned one, so a
    /// diagnostic never writes raw control characters (escape sequences) to a terminal.
    static func quoted(_ c: Unicode.Scalar) -> String {
        switch c.properties.generalCategory {
        case .control, .format, .unassigned, .surrogate, .privateUse, .lineSeparator, .paragraphSeparator,
             .spaceSeparator, .nonspacingMark, .enclosingMark:
            return "U+" + String(repeating: "0", count: Swift.max(0, 4 - String(c.value, radix: 16).count)) + String(c.value, radix: 16, uppercase: true)
        default:
            return "'\(c)'"
        }
    }
}
