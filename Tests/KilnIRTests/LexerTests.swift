import KilnIR
import Testing

/// Lexer diagnostics never print raw control characters.
struct LexerTests {
    @Test("control and invisible characters are shown as U+XXXX", arguments: [
        ("\u{07}", "U+0007"), ("\u{1B}", "U+001B"), ("\u{7F}", "U+007F"), ("\u{202E}", "U+202E"), ("\u{00A0}", "U+00A0"),
    ])
    func escaped(_ character: String, _ shown: String) {
        #expect(throws: Diagnostic("unexpected character \(shown)", at: SourceLocation(file: "c.kiln", line: 1, column: 9))) {
            try Parser.parse("graph g \(character){}", file: "c.kiln")
        }
    }

    @Test("a printable character is quoted as is")
    func printable() {
        #expect(throws: Diagnostic("unexpected character '$'", at: SourceLocation(file: "c.kiln", line: 1, column: 9))) {
            try Parser.parse("graph g ${}", file: "c.kiln")
        }
    }
}
