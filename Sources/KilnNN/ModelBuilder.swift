import KilnIR

/// Builds a graph from Swift. Types are inferred as each op is added, so a shape error points
/// at the Swift line that made it; the first error is kept (later calls do nothing) and
/// `build()` throws it, which spares a `try` on every expression.
///
/// Layers (``Dense``, ``Conv2D``, …) bind to the model of the first value they are applied to
/// and take their automatic names (`dense1`, `conv2`, …) from per-kind counters kept here.
public final class ModelBuilder {
    private var builder: GraphBuilder
    /// The first error any DSL call met; `build()` throws it. An operator's error whose line
    /// the backtrace could not give appears here at the next DSL call, which supplies the line.
    public private(set) var firstError: Diagnostic?
    /// An error from an operator (`+ - * /`) whose line is still unknown: it is reported at the
    /// next DSL call that knows its line (see ``locatesOperators``).
    private var pendingOperatorError: String?
    /// Whether an operator's error is located by symbolicating a backtrace (exact, needs debug
    /// information). When off, or when the backtrace has no line for the caller, the error is
    /// reported at the next DSL call and says so.
    public var locatesOperators = true
    /// Layer name prefixes given explicitly and automatically, and the last number given to
    /// each layer kind. Only two explicit names can clash: an automatic name skips any taken one.
    private var explicitLayerNames: Set<String> = []
    private var automaticLayerNames: Set<String> = []
    private var layerCounters: [String: Int] = [:]
    private var dropoutSeeds = 0
    /// The layers being applied, outermost first; errors name them ("in dense2 (File.swift:12)").
    private var contexts: [String] = []

    /// A model named `name`; `file` becomes the graph's source file.
    public init(_ name: String, file: String = #fileID) {
        builder = GraphBuilder(name: name, sourceFile: file, infersTypes: true)
    }

    /// The finished graph, typed and verified, or the first error any DSL call met.
    public func build(file: String = #fileID, line: Int = #line) throws -> Graph {
        _ = isHealthy(file: file, line: line)
        if let firstError { throw firstError }
        let graph = builder.graph
        try Verifier().verify(graph)
        return graph
    }

    /// The type of a value, if it was made without error.
    public func type(of value: Value) -> TensorType? { builder.type(of: value.name) }

    /// Records `error` at the caller's line unless an earlier error is already kept; the
    /// message names the layers being applied, innermost last.
    func record(_ error: Error, file: String, line: Int) {
        guard isHealthy(file: file, line: line) else { return }
        let message = (error as? Diagnostic)?.message ?? "\(error)"
        let context = contexts.isEmpty ? "" : "in " + contexts.joined(separator: " in ") + ": "
        firstError = Diagnostic(context + message, at: SourceLocation(file: file, line: line, column: 0))
    }

    /// Records a DSL error (a layer given the wrong kind of value, …) and returns a poisoned value.
    func fail(_ message: String, file: String, line: Int) -> Value {
        record(Diagnostic(message), file: file, line: line)
        return poisoned
    }

    /// False once any error is known. A pending operator error gets this call's line here,
    /// the first place after the operator where a line is known.
    func isHealthy(file: String, line: Int) -> Bool {
        if firstError == nil, let message = pendingOperatorError {
            pendingOperatorError = nil
            firstError = Diagnostic(message + " (in an operator before this line: Swift operators cannot take #line)",
                                    at: SourceLocation(file: file, line: line, column: 0))
        }
        return firstError == nil
    }

    var poisoned: Value { Value(model: self, name: "<error>") }

    /// Runs `body` with `context` (a layer's name and where it was declared) prefixed to errors.
    func within<T>(_ context: String, _ body: () -> T) -> T {
        contexts.append(context)
        defer { contexts.removeLast() }
        return body()
    }

    /// Adds an op; on error records it and returns a poisoned value.
    func apply(_ op: OpKind, _ operands: [Value], _ attributes: [(String, AttrValue)] = [],
               file: String, line: Int) -> Value {
        guard isHealthy(file: file, line: line) else { return poisoned }
        guard operands.allSatisfy({ $0.model === self }) else {
            return fail("\(op.name): operands come from another model", file: file, line: line)
        }
        do {
            return Value(model: self, name: try builder.add(op, operands.map(\.name), attributes,
                                                           at: SourceLocation(file: file, line: line, column: 0)))
        } catch {
            record(error, file: file, line: line)
            return poisoned
        }
    }

    /// Adds an op for an operator, which cannot know its caller's line. On error, the line
    /// comes from a backtrace (``OperatorSite``) or, failing that, from the next DSL call.
    func applyOperator(_ op: OpKind, _ operands: [Value], _ attributes: [(String, AttrValue)] = []) -> Value {
        guard firstError == nil, pendingOperatorError == nil else { return poisoned }
        var message = "\(op.name): operands come from another model"
        if operands.allSatisfy({ $0.model === self }) {
            do { return Value(model: self, name: try builder.add(op, operands.map(\.name), attributes)) } catch {
                message = (error as? Diagnostic)?.message ?? "\(error)"
            }
        }
        if locatesOperators, let site = OperatorSite.caller() {
            record(Diagnostic(message), file: site.file, line: site.line)
        } else {
            let origins = operands.compactMap { origin(of: $0) }
            pendingOperatorError = message + (origins.isEmpty ? "" : "; operands made at " + origins.joined(separator: " and "))
        }
        return poisoned
    }

    /// Where a value was made (its input, param or node's Swift line), for error messages.
    private func origin(of value: Value) -> String? {
        let graph = builder.graph
        let location = graph.node(named: value.name)?.location ?? graph.param(named: value.name)?.location
            ?? graph.input(named: value.name)?.location
        return location.map { "\($0.file):\($0.line)" }
    }

    /// A graph input: fed by the caller on every run.
    public func input(_ name: String, _ dtype: DType = .f32, _ dims: [Int], file: String = #fileID, line: Int = #line) -> Value {
        declare(name, file: file, line: line) { try $0.addInput(name, TensorType(dtype, Shape(dims)), at: $1) }
    }

    /// A trainable parameter, initialised once and kept across runs.
    public func param(_ name: String, _ dims: [Int], initializer: Initializer = .glorotUniform, dtype: DType = .f32,
                      file: String = #fileID, line: Int = #line) -> Value {
        declare(name, file: file, line: line) { try $0.addParam(name, TensorType(dtype, Shape(dims)), initializer, at: $1) }
    }

    /// Persistent, non-trainable storage (counters, running statistics).
    public func state(_ name: String, _ dims: [Int], initializer: Initializer = .zeros, dtype: DType = .f32,
                      file: String = #fileID, line: Int = #line) -> Value {
        declare(name, file: file, line: line) { try $0.addParam(name, TensorType(dtype, Shape(dims)), initializer, role: .state, at: $1) }
    }

    private func declare(_ name: String, file: String, line: Int,
                         _ body: (inout GraphBuilder, SourceLocation) throws -> Void) -> Value {
        guard isHealthy(file: file, line: line) else { return poisoned }
        do { try body(&builder, SourceLocation(file: file, line: line, column: 0)) } catch {
            record(error, file: file, line: line)
            return poisoned
        }
        return Value(model: self, name: name)
    }

    /// Makes values outputs of the graph, in order.
    public func output(_ values: Value..., file: String = #fileID, line: Int = #line) {
        for value in values where isHealthy(file: file, line: line) {
            do { try builder.addOutput(value.name) } catch { record(error, file: file, line: line) }
        }
    }

    /// Makes `value` an output with a declared role (`.loss`, `.logits`, `.reconstruction`, …),
    /// which trainers and reports use instead of guessing from names.
    public func output(_ value: Value, role: OutputRole, file: String = #fileID, line: Int = #line) {
        guard isHealthy(file: file, line: line) else { return }
        do { try builder.addOutput(value.name, role: role) } catch { record(error, file: file, line: line) }
    }

    /// After each run, `target` (a param or state) takes `value`.
    public func update(_ target: Value, with value: Value, file: String = #fileID, line: Int = #line) {
        guard isHealthy(file: file, line: line) else { return }
        do { try builder.addUpdate(target.name, value.name) } catch { record(error, file: file, line: line) }
    }

    /// A scalar f32 constant, exactly as a numeric literal in `.kiln` text makes one.
    public func constant(_ value: Float, file: String = #fileID, line: Int = #line) -> Value {
        apply(.constant, [], [("value", .float(Double(value)))], file: file, line: line)
    }

    func rename(_ value: Value, to name: String, file: String, line: Int) -> Value {
        guard isHealthy(file: file, line: line) else { return poisoned }
        guard value.name.hasPrefix("%") else {
            return fail("cannot name '\(value.name)' '\(name)': only an unnamed temporary can be named", file: file, line: line)
        }
        do {
            try builder.rename(value.name, to: name)
        } catch {
            return fail("cannot name a value '\(name)': the name is taken", file: file, line: line)
        }
        return Value(model: self, name: name)
    }

    /// A layer's name prefix: `explicit` if given (each used once), else the kind and the next
    /// free number (`dense1`, `dense2`, …), so param names read `dense1.weight`.
    func layerName(kind: String, explicit: String?, file: String, line: Int) -> String? {
        if let explicit {
            guard !explicitLayerNames.contains(explicit) else {
                record(Diagnostic("two layers are named '\(explicit)'"), file: file, line: line)
                return nil
            }
            explicitLayerNames.insert(explicit)
            return explicit
        }
        var name: String
        repeat {
            layerCounters[kind, default: 0] += 1
            name = "\(kind)\(layerCounters[kind, default: 0])"
        } while explicitLayerNames.contains(name) || automaticLayerNames.contains(name)
        automaticLayerNames.insert(name)
        return name
    }

    /// Seeds for dropout layers without one: 1, 2, … in the order they are first applied, so
    /// two dropout layers never draw the same mask.
    func nextDropoutSeed() -> Int {
        dropoutSeeds += 1
        return dropoutSeeds
    }
}

/// A value of a graph under construction. Methods add ops to its model.
public struct Value {
    /// The model this value belongs to.
    public let model: ModelBuilder
    /// The value's name in the graph (`%N` for unnamed temporaries).
    public let name: String

    /// The value's inferred type; nil after an error.
    public var type: TensorType? { model.type(of: self) }
    /// The value's dimensions (empty after an error).
    public var shape: [Int] { type?.shape.dims ?? [] }

    /// Gives this (just created, unnamed) value a name, as `h1 = …` does in `.kiln` text.
    public func named(_ newName: String, file: String = #fileID, line: Int = #line) -> Value {
        model.rename(self, to: newName, file: file, line: line)
    }
}
