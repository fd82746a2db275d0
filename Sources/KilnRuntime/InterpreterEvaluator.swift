import KilnIR

/// The interpreter as a `ConstantEvaluator`: what `kiln import` and `Model(onnx:)` give the ONNX
/// importer to fold nodes whose inputs are known at import time.
public struct InterpreterEvaluator: ConstantEvaluator {
    public init() {}

    public func evaluate(_ graph: Graph, state: [String: Tensor]) throws -> [String: Tensor] {
        let interpreter = try Interpreter(graph: graph)
        var state = state
        return try interpreter.run(inputs: [:], state: &state, step: 0)
    }
}
