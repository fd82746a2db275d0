/// A position in a `.kiln` source (1-based) or in Swift code that built a graph.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { column > 0 ? "\(file):\(line):\(column)" : "\(file):\(line)" }
}

/// An error meant for a person: where it happened and what is wrong.
/// Printed as `file:line:col: error: message`, the format editors and CI logs understand.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation?
    public var message: String

    public init(_ message: String, at location: SourceLocation? = nil) {
        self.message = message
        self.location = location
    }

    public var description: String {
        if let location { return "\(location): error: \(message)" }
        return "error: \(message)"
    }
}

/// A shape or type rule violation, before it is tied to a node and a location.
public struct TypeError: Error, Hashable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}
