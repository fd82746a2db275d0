import Foundation

/// Typed access to one node's attributes, with ONNX's defaults supplied by the caller and a
/// located error for a wrong kind.
struct NodeAttributes {
    private var byName: [String: Onnx_AttributeProto] = [:]

    init(_ node: Onnx_NodeProto) {
        for a in node.attribute { byName[a.name] = a }
    }

    func has(_ name: String) -> Bool { byName[name] != nil }

    func int(_ name: String, _ defaultValue: Int) throws -> Int {
        guard let a = byName[name] else { return defaultValue }
        guard a.type == .int || a.hasI else { throw ConversionError("attribute '\(name)' must be an int") }
        return Int(a.i)
    }

    func float(_ name: String, _ defaultValue: Double) throws -> Double {
        guard let a = byName[name] else { return defaultValue }
        if a.type == .int { return Double(a.i) }
        guard a.type == .float || a.hasF else { throw ConversionError("attribute '\(name)' must be a float") }
        return Double(a.f)
    }

    func ints(_ name: String) throws -> [Int]? {
        guard let a = byName[name] else { return nil }
        guard a.type == .ints || !a.ints.isEmpty || a.type == .undefined else { throw ConversionError("attribute '\(name)' must be a list of ints") }
        return a.ints.map { Int(clamping: $0) }
    }

    func floats(_ name: String) throws -> [Double]? {
        guard let a = byName[name] else { return nil }
        return a.floats.map(Double.init)
    }

    func string(_ name: String, _ defaultValue: String) -> String {
        guard let a = byName[name] else { return defaultValue }
        return String(decoding: a.s, as: UTF8.self)
    }

    /// A list of strings (LSTM's `activations`), nil when absent.
    func strings(_ name: String) -> [String]? {
        guard let a = byName[name] else { return nil }
        return a.strings.map { String(decoding: $0, as: UTF8.self) }
    }

    func tensor(_ name: String) -> Onnx_TensorProto? {
        guard let a = byName[name], a.hasT else { return nil }
        return a.t
    }

    /// Names of the attributes present (for "attribute X is not supported" checks).
    var names: Set<String> { Set(byName.keys) }
}
