import KilnIR

/// Builds a graph from Swift. Types are inferred as each op is added, so a shape error points
/// at the Swift line that made it; the first error is kept (later calls do nothing) and
/// `build()` throws it, which spares a `try` on every expression.
public final class ModelBuilder {
    private var builder: GraphBuilder
    public private(set) var firstError: Diagnostic?

    public init(_ name: String, file: String = #fileID) {
        builder = GraphBuilder(name: name, sourceFile: file, infersTypes: true)
    }

    /// The finished graph, typed and verified, or the first error any DSL call met.
    public func build() throws -> Graph {
        if let firstError { throw firstError }
        let graph = builder.graph
        try Verifier().verify(graph)
        return graph
    }

    /// The type of a value, if it was made without error.
    public func type(of value: Value) -> TensorType? { builder.type(of: value.name) }

    func record(_ error: Error, file: String, line: Int) {
        guard firstError == nil else { return }
        let location = SourceLocation(file: file, line: line, column: 0)
        if let d = error as? Diagnostic {
            firstError = Diagnostic(d.message, at: location)
        } else {
            firstError = Diagnostic("\(error)", at: location)
        }
    }

    var poisoned: Value { Value(model: self, name: "<error>") }

    /// Adds an op; on error records it and returns a poisoned value.
    func apply(_ op: OpKind, _ operands: [Value], _ attributes: [(String, AttrValue)] = [],
               file: String, line: Int) -> Value {
        guard firstError == nil, operands.allSatisfy({ $0.model === self }) else {
            if firstError == nil { record(Diagnostic("\(op.name): operands come from another model"), file: file, line: line) }
            return poisoned
        }
        do {
            return Value(model: self, name: try builder.add(op, operands.map(\.name), attributes,
                                                           at: SourceLocation(file: file, line: line, column: 0)))
        } catch {
            record(error, file: file, line: line)
            return poisoned
        }
    }

    public func input(_ name: String, _ dtype: DType = .f32, _ dims: [Int], file: String = #fileID, line: Int = #line) -> Value {
        declare(name, file: file, line: line) { try $0.addInput(name, TensorType(dtype, Shape(dims))) }
    }

    public func param(_ name: String, _ dims: [Int], initializer: Initializer = .glorotUniform, dtype: DType = .f32,
                      file: String = #fileID, line: Int = #line) -> Value {
        declare(name, file: file, line: line) { try $0.addParam(name, TensorType(dtype, Shape(dims)), initializer) }
    }

    /// Persistent, non-trainable storage (counters, running statistics).
    public func state(_ name: String, _ dims: [Int], initializer: Initializer = .zeros, dtype: DType = .f32,
                      file: String = #fileID, line: Int = #line) -> Value {
        declare(name, file: file, line: line) { try $0.addParam(name, TensorType(dtype, Shape(dims)), initializer, role: .state) }
    }

    private func declare(_ name: String, file: String, line: Int, _ body: (inout GraphBuilder) throws -> Void) -> Value {
        guard firstError == nil else { return poisoned }
        do { try body(&builder) } catch { record(error, file: file, line: line); return poisoned }
        return Value(model: self, name: name)
    }

    /// Makes values outputs of the graph, in order.
    public func output(_ values: Value..., file: String = #fileID, line: Int = #line) {
        for value in values where firstError == nil {
            do { try builder.addOutput(value.name) } catch { record(error, file: file, line: line) }
        }
    }

    /// Makes `value` an output with a declared role (`.loss`, `.logits`, `.reconstruction`, …),
    /// which trainers and reports use instead of guessing from names.
    public func output(_ value: Value, role: OutputRole, file: String = #fileID, line: Int = #line) {
        guard firstError == nil else { return }
        do { try builder.addOutput(value.name, role: role) } catch { record(error, file: file, line: line) }
    }

    /// After each run, `target` (a param or state) takes `value`.
    public func update(_ target: Value, with value: Value, file: String = #fileID, line: Int = #line) {
        guard firstError == nil else { return }
        do { try builder.addUpdate(target.name, value.name) } catch { record(error, file: file, line: line) }
    }

    /// A scalar f32 constant, exactly as a numeric literal in `.kiln` text makes one.
    public func constant(_ value: Float, file: String = #fileID, line: Int = #line) -> Value {
        apply(.constant, [], [("value", .float(Double(value)))], file: file, line: line)
    }

    func rename(_ value: Value, to name: String, file: String, line: Int) -> Value {
        guard firstError == nil else { return poisoned }
        guard value.name.hasPrefix("%") else {
            record(Diagnostic("cannot name '\(value.name)' '\(name)': only an unnamed temporary can be named"), file: file, line: line)
            return poisoned
        }
        do {
            try builder.rename(value.name, to: name)
        } catch {
            record(Diagnostic("cannot name a value '\(name)': the name is taken"), file: file, line: line)
            return poisoned
        }
        return Value(model: self, name: name)
    }
}

/// A value of a graph under construction. Methods add ops to its model.
public struct Value {
    public let model: ModelBuilder
    /// The value's name in the graph (`%N` for unnamed temporaries).
    public let name: String

    public var type: TensorType? { model.type(of: self) }
    public var shape: [Int] { type?.shape.dims ?? [] }

    /// Gives this (just created, unnamed) value a name, as `h1 = …` does in `.kiln` text.
    public func named(_ newName: String, file: String = #fileID, line: Int = #line) -> Value {
        model.rename(self, to: newName, file: file, line: line)
    }
}
