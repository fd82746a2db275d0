import KilnIR
import KilnRuntime

/// What `loadParameters(from:)` did with each tensor of a checkpoint (`kiln train --init-from`).
public struct ParameterTransfer: Sendable, Equatable {
    /// Params of this graph given the checkpoint's values.
    public var loaded: [String] = []
    /// Params of this graph the checkpoint does not hold (they keep their initialisers).
    public var missing: [String] = []
    /// Names in both whose types differ: "name: checkpoint type vs graph type" (initialiser kept).
    public var mismatched: [String] = []
    /// Checkpoint tensors that are not params of this graph (other layers, optimiser state).
    public var skipped: [String] = []

    /// One line per kind, for the console.
    public var summary: String {
        func list(_ names: [String]) -> String { names.isEmpty ? "" : ": " + names.joined(separator: ", ") }
        return ["loaded \(loaded.count)\(list(loaded))", "shape-mismatched \(mismatched.count)\(list(mismatched))",
                "skipped \(skipped.count)\(list(skipped))", "not in the checkpoint \(missing.count)\(list(missing))"]
            .joined(separator: "\n")
    }
}

extension Trainer {
    /// Starts from another graph's trained params: every trainable param — and, with
    /// `includeState` (the default), every state tensor of the forward graph such as batch
    /// norm's running mean and variance — whose name and type match a tensor of the safetensors
    /// file at `path` (a checkpoint or a saved `Model`) takes its value; the rest keep their
    /// initialisers. Optimiser state and step counts are not taken (this is a new run).
    /// Without the running statistics a batch-norm network normalises with its initial ones
    /// (mean 0, variance 1) and predicts far worse than the model it came from.
    @discardableResult
    public func loadParameters(from path: String, includeState: Bool = true) throws -> ParameterTransfer {
        let (tensors, _) = try SafetensorsFormat.read(path: path)
        var transfer = ParameterTransfer()
        var taken: [String: Tensor] = [:]
        let params = Set(forward.params.filter { $0.role == .param || includeState }.map(\.name))
        for name in params.sorted() {
            guard let current = state[name] else { continue }
            guard let saved = tensors[name] else {
                transfer.missing.append(name)
                continue
            }
            if saved.type == current.type {
                try saved.checkFinite("'\(path)': '\(name)'")
                taken[name] = saved
                transfer.loaded.append(name)
            } else {
                transfer.mismatched.append("\(name): \(saved.type) vs \(current.type)")
            }
        }
        // Only now, every tensor checked: a file with a NaN leaves the state as it was.
        for (name, tensor) in taken { state[name] = tensor }
        transfer.skipped = tensors.keys.filter { !params.contains($0) }.sorted()
        return transfer
    }
}
