import Foundation
import KilnIR

/// The header of a `.npy` file: the Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, parsed without evaluating
/// anything. Values other than strings, booleans and integer tuples are recognised only so that
/// the error can say what they are.
struct NumPyHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    private enum Value {
        case string(String), bool(Bool), tuple([String]), other(String)
    }

    init(_ text: String, name: String) throws {
        var parser = Parser(characters: Array(text.unicodeScalars), name: name)
        let entries = try parser.dictionary()
        func entry(_ key: String) throws -> Value {
            guard let value = entries[key] else { throw Diagnostic("'\(name)': header has no '\(key)'") }
            return value
        }
        switch try entry("descr") {
        case .string(let s): descr = s
        case .other(let kind): throw Diagnostic("'\(name)': 'descr' is \(kind), not a dtype string (structured arrays are not supported)")
        default: throw Diagnostic("'\(name)': malformed 'descr' in header")
        }
        guard case .bool(let fortran) = try entry("fortran_order") else {
            throw Diagnostic("'\(name)': malformed 'fortran_order' in header (expected True or False)")
        }
        fortranOrder = fortran
        guard case .tuple(let parts) = try entry("shape") else { throw Diagnostic("'\(name)': malformed 'shape' in header (expected a tuple)") }
        shape = try parts.map { text in
            // Python 2 wrote long integers with an 'L' suffix: (3L, 4L).
            guard let d = Int(text.hasSuffix("L") ? String(text.dropLast()) : text), d >= 0 else { throw Diagnostic("'\(name)': malformed dimension '\(text)' in shape") }
            return d
        }
    }

    /// The header text NumPy itself writes for `tensor` (keys sorted, shape as a Python tuple,
    /// the spare spaces NumPy leaves for growing the first axis).
    static func text(for type: TensorType) -> String {
        let dims = type.shape.dims
        let shape = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.map(String.init).joined(separator: ", ") + ")"
        let descr = type.dtype == .f32 ? "<f4" : "<i4"
        let growth = dims.first.map { Swift.max(0, 21 - String($0).count) } ?? 0
        return "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }" + String(repeating: " ", count: growth)
    }

    private struct Parser {
        let characters: [Unicode.Scalar]
        let name: String
        var index = 0

        mutating func skipSpace() {
            while index < characters.count, characters[index].properties.isWhitespace { index += 1 }
        }

        func fail(_ expected: String) -> Diagnostic {
            let found = index < characters.count ? "'\(characters[index])'" : "the end"
            return Diagnostic("'\(name)': malformed header: expected \(expected) at character \(index + 1), found \(found)")
        }

        mutating func expect(_ c: Unicode.Scalar, _ what: String) throws {
            skipSpace()
            guard index < characters.count, characters[index] == c else { throw fail(what) }
            index += 1
        }

        mutating func peek() -> Unicode.Scalar? {
            skipSpace()
            return index < characters.count ? characters[index] : nil
        }

        mutating func dictionary() throws -> [String: Value] {
            try expect("{", "'{'")
            var result: [String: Value] = [:]
            while peek() != "}" {
                guard let quote = peek(), quote == "'" || quote == "\"" else { throw fail("a quoted key or '}'") }
                let key = try string()
                try expect(":", "':' after '\(key)'")
                guard result[key] == nil else { throw Diagnostic("'\(name)': header repeats the key '\(key)'") }
                result[key] = try value()
                if peek() == "," { index += 1 } else if peek() != "}" { throw fail("',' or '}'") }
            }
            index += 1
            return result
        }

        mutating func string() throws -> String {
            guard let quote = peek() else { throw fail("a string") }
            index += 1
            var text = ""
            while index < characters.count, characters[index] != quote {
                text.unicodeScalars.append(characters[index])
                index += 1
            }
            guard index < characters.count else { throw fail("a closing quote") }
            index += 1
            return text
        }

        /// A literal: strings, True/False, tuples of integer-like words; lists, dicts and other
        /// words are skipped over (balanced brackets) and reported by kind.
        mutating func value() throws -> Value {
            switch peek() {
            case "'", "\"": return .string(try string())
            case "(":
                index += 1
                var parts: [String] = []
                while peek() != ")" {
                    let start = index
                    while index < characters.count, !",)".unicodeScalars.contains(characters[index]) { index += 1 }
                    let word = String(String.UnicodeScalarView(characters[start..<index])).trimmingCharacters(in: .whitespaces)
                    guard !word.isEmpty else { throw fail("a dimension") }
                    parts.append(word)
                    if peek() == "," { index += 1 } else if peek() != ")" { throw fail("',' or ')'") }
                }
                index += 1
                return .tuple(parts)
            case "[", "{":
                let kind = peek() == "[" ? "a list" : "a dict"
                var depth = 0
                repeat {
                    guard index < characters.count else { throw fail("a closing bracket") }
                    if "[{(".unicodeScalars.contains(characters[index]) { depth += 1 }
                    if "]})".unicodeScalars.contains(characters[index]) { depth -= 1 }
                    index += 1
                } while depth > 0
                return .other(kind)
            default:
                let start = index
                while index < characters.count, characters[index].properties.isAlphabetic || characters[index].properties.numericType != nil { index += 1 }
                let word = String(String.UnicodeScalarView(characters[start..<index]))
                switch word {
                case "True": return .bool(true)
                case "False": return .bool(false)
                case "": throw fail("a value")
                default: return .other("'\(word)'")
                }
            }
        }
    }
}
