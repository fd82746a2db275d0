/// The value of an op attribute, as written after the operands: `axis=1`, `stride=[2, 2]`.
public enum AttrValue: Hashable, Sendable, CustomStringConvertible {
    case int(Int)
    case float(Double)
    case ints([Int])
    case bool(Bool)
    case dtype(DType)

    /// Floats compare by bit pattern: a `nan` attribute equals itself (so a graph holding one
    /// still verifies and round-trips), and `0.0` and `-0.0` stay distinct values.
    public static func == (a: AttrValue, b: AttrValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.float(let x), .float(let y)): return x.bitPattern == y.bitPattern
        case (.ints(let x), .ints(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.dtype(let x), .dtype(let y)): return x == y
        default: return false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .int(let v): h.combine(0); h.combine(v)
        case .float(let v): h.combine(1); h.combine(v.bitPattern)
        case .ints(let v): h.combine(2); h.combine(v)
        case .bool(let v): h.combine(3); h.combine(v)
        case .dtype(let v): h.combine(4); h.combine(v)
        }
    }

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .float(let v): return formatFloat(v)
        case .ints(let v): return "[" + v.map(String.init).joined(separator: ", ") + "]"
        case .bool(let v): return v ? "true" : "false"
        case .dtype(let v): return v.rawValue
        }
    }
}

/// Prints a float so that it parses back to the same `Double` and never reads as an integer.
public func formatFloat(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v < 0 ? "-inf" : "inf" }
    let text = "\(v)"
    return text.contains(where: { $0 == "." || $0 == "e" || $0 == "n" || $0 == "i" }) ? text : text + ".0"
}

/// What kind of value an attribute takes.
public enum AttrKind: String, Sendable {
    case int, float, ints, bool, dtype
}

/// The declared default of an attribute.
public enum AttrDefault: Sendable {
    /// The attribute must be given.
    case required
    case value(AttrValue)
    /// Takes the value of another attribute of the same node (pooling `stride` defaults to `window`).
    case sameAs(String)
}

/// One attribute in an op's signature.
public struct AttrSpec: Sendable {
    public var name: String
    public var kind: AttrKind
    public var defaultValue: AttrDefault

    public init(_ name: String, _ kind: AttrKind, _ defaultValue: AttrDefault = .required) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
    }
}

/// A node's attributes: always normalised to the op's full signature (defaults filled in),
/// so two graphs that mean the same thing compare equal whatever was spelled out.
public struct Attributes: Hashable, Sendable {
    public private(set) var values: [String: AttrValue]

    public init(_ values: [String: AttrValue] = [:]) { self.values = values }

    public subscript(name: String) -> AttrValue? {
        get { values[name] }
        set { values[name] = newValue }
    }

    public func int(_ name: String) -> Int {
        if case .int(let v)? = values[name] { return v }
        return 0
    }

    public func float(_ name: String) -> Double {
        switch values[name] {
        case .float(let v)?: return v
        case .int(let v)?: return Double(v)
        default: return 0
        }
    }

    public func ints(_ name: String) -> [Int] {
        if case .ints(let v)? = values[name] { return v }
        return []
    }

    public func bool(_ name: String) -> Bool {
        if case .bool(let v)? = values[name] { return v }
        return false
    }

    public func dtype(_ name: String) -> DType {
        if case .dtype(let v)? = values[name] { return v }
        return .f32
    }
}
