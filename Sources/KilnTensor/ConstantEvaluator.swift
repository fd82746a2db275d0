import KilnIR

/// Runs a small graph whose values are all known: no inputs, its params and state given as
/// tensors. Stages that fold constants while they build a graph (the ONNX importer runs a node
/// of known inputs to get its value) take one from above instead of linking a backend; the
/// interpreter's is `InterpreterEvaluator` (KilnRuntime).
public protocol ConstantEvaluator: Sendable {
    /// The outputs of `graph` by name, its params and state read from `state`.
    func evaluate(_ graph: Graph, state: [String: Tensor]) throws -> [String: Tensor]
}
