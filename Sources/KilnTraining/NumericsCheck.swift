import KilnData
import KilnIR
import KilnPasses
import KilnRuntime

extension Trainer {
    /// Where a non-finite value first appears in one training step: replays the step op by op
    /// on the interpreter, unoptimised (so every value has its own source location), from
    /// `state` (the state before the step) and returns the first input, param or node result,
    /// in program order, holding a NaN or an infinity — e.g. `'%3' = log(x) at mlp.kiln:7:9`.
    /// Nil when the replay stays finite. For `kiln train --check-numerics`.
    public func firstNonFinite(batch: Batch, state: [String: Tensor], step: Int) throws -> String? {
        var inputs = try feeds(batch, plan: nil)
        inputs[TrainingStep.learningRateInput] = Tensor.scalar(learningRate)
        for (name, tensor) in inputs.sorted(by: { $0.key < $1.key }) where !isFinite(tensor) {
            return "input '\(name)' holds NaN or infinity"
        }
        for (name, tensor) in state.sorted(by: { $0.key < $1.key }) where !isFinite(tensor) {
            return "'\(name)' held NaN or infinity before the step"
        }
        let graph = try TrainingStep(loss: loss, optimizer: optimizer).run(forward)
        var scratch = state
        let values = try Interpreter(graph: graph).run(inputs: inputs, state: &scratch, step: step, keepAll: true)
        for node in graph.nodes {
            for name in node.resultNames {
                guard let tensor = values[name], !isFinite(tensor) else { continue }
                let call = "\(node.op.name)(\(node.operands.joined(separator: ", ")))"
                return "'\(name)' = \(call)\(node.location.map { " at \($0)" } ?? "")"
            }
        }
        return nil
    }

    private func isFinite(_ tensor: Tensor) -> Bool {
        tensor.dtype != .f32 || !UnsafeBufferPointer(start: tensor.floatPointer, count: tensor.elementCount).contains { !$0.isFinite }
    }
}
