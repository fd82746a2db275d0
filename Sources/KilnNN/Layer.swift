import KilnIR

/// Where a DSL call was written: the caller's `#fileID` and `#line`, passed down so that an
/// error inside a layer points at the user's line, not at the layer's implementation.
public struct CallSite: Sendable, Hashable, CustomStringConvertible {
    /// The file as `#fileID` spells it (`Module/File.swift`).
    public var file: String
    /// The line in `file`.
    public var line: Int

    /// A call site; layers and DSL functions fill it from `#fileID` and `#line` defaults.
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `File.swift:12`.
    public var description: String { "\(file):\(line)" }
}

/// A layer: a value-to-value function that owns parameters (or none).
///
/// Layers are classes so that a layer object *is* its weights: it creates its params lazily
/// on its first application — sizes inferred from the input's static shape — and reuses them
/// on every later one (an RNN cell over time steps, a discriminator applied to real and fake
/// images). To write a layer, implement ``forward(_:at:)``; callers use `layer(x)`.
public protocol Layer: AnyObject {
    /// Adds the layer's ops for input `x` to `x`'s model; `site` is the user's call, where
    /// errors are reported.
    func forward(_ x: Value, at site: CallSite) -> Value
}

extension Layer {
    /// Applies the layer to `x`; `name` names the result (as `h1 = …` does in `.kiln` text).
    public func callAsFunction(_ x: Value, name: String? = nil, file: String = #fileID, line: Int = #line) -> Value {
        let y = forward(x, at: CallSite(file: file, line: line))
        return name.map { y.named($0, file: file, line: line) } ?? y
    }
}

/// What a layer with parameters shares with every other: its model (bound at the first
/// application), its name prefix (`dense1`, or the one given), where it was declared, and
/// the rule that turns a param's role (`weight`) into its name (`dense1.weight`).
struct LayerBinding {
    /// The prefix's stem for automatic names (`dense` → `dense1`, `dense2`, …).
    let kind: String
    /// The explicit prefix given to the layer's initializer, if any.
    let requestedName: String?
    /// Where the layer was created, named in errors raised while applying it.
    let declared: CallSite
    private(set) var model: ModelBuilder?
    private(set) var name: String?

    init(kind: String, name: String?, declared: CallSite) {
        self.kind = kind
        self.requestedName = name
        self.declared = declared
    }

    /// Binds to `x`'s model on the first call; false (error recorded) when `x` comes from
    /// another model or already failed.
    mutating func bind(_ x: Value, at site: CallSite) -> Bool {
        guard x.model.isHealthy(file: site.file, line: site.line) else { return false }
        if let model {
            guard model === x.model else {
                _ = x.model.fail("layer '\(name ?? kind)' (declared at \(declared)) belongs to another model", file: site.file, line: site.line)
                return false
            }
            return true
        }
        guard let assigned = x.model.layerName(kind: kind, explicit: requestedName, file: site.file, line: site.line) else { return false }
        model = x.model
        name = assigned
        return true
    }

    /// Checks `x` (f32 or `dtype`, rank `rank` or more, or exactly) and binds to its model; the
    /// static dims, or nil with the error recorded, named after this layer.
    mutating func prepare(_ x: Value, rank: Int, exactly: Bool = false, dtype: DType = .f32, describing: String? = nil,
                          for layer: String, at site: CallSite) -> [Int]? {
        guard x.model.isHealthy(file: site.file, line: site.line) else { return nil }
        let dims = x.model.within(context) {
            x.requireShape(rank: rank, exactly: exactly, dtype: dtype, describing: describing, for: layer, at: site)
        }
        guard let dims, bind(x, at: site) else { return nil }
        return dims
    }

    /// The text errors inside this layer are prefixed with.
    var context: String { "\(name ?? kind) (declared at \(declared))" }

    /// Declares the param playing `role` (`weight`, `bias`, …): named `explicit` if given,
    /// else `prefix.role`. Its location is the declaration of the layer.
    func param(_ role: String, explicit: String?, _ dims: [Int], _ initializer: Initializer) -> Value? {
        guard let model, let name else { return nil }
        let value = model.param(explicit ?? "\(name).\(role)", dims, initializer: initializer, file: declared.file, line: declared.line)
        return value.type == nil ? nil : value
    }

    /// Runs `body` with errors prefixed by this layer's name and declaration.
    func within<T>(_ body: () -> T) -> T {
        guard let model else { return body() }
        return model.within(context, body)
    }
}

extension Value {
    /// The static shape if this value was made without error and has at least `rank` axes;
    /// otherwise records why `layer` cannot take it and returns nil.
    func requireShape(rank: Int, exactly: Bool = false, dtype: DType = .f32, describing: String? = nil,
                      for layer: String, at site: CallSite) -> [Int]? {
        guard model.isHealthy(file: site.file, line: site.line) else { return nil }
        guard let type else {
            _ = model.fail("\(layer): its input has no type", file: site.file, line: site.line)
            return nil
        }
        let dims = type.shape.dims
        let rankOK = exactly ? dims.count == rank : dims.count >= rank
        guard rankOK, type.dtype == dtype else {
            let wanted = describing ?? "\(dtype) of rank \(exactly ? "" : "at least ")\(rank)"
            _ = model.fail("\(layer) expects \(wanted), got \(type)", file: site.file, line: site.line)
            return nil
        }
        return dims
    }
}
