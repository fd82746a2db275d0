/// A failure to read, import or export an ONNX model: one line, located (the file, and for a
/// node its name, op type and the model's opset), never a crash.
public struct ONNXError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A failure inside one op's conversion; the importer adds the node, op and opset.
struct ConversionError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// An op the importer does not know (reported with the node and opset like any other failure,
/// but distinguishable so that the conformance runner can count it as "unsupported").
struct UnsupportedOp: Error {
    var opType: String
    var domain: String
}
