import KilnIR
import KilnRuntime

extension Trainer {
    /// Saves params, optimiser state and the step count (safetensors, written atomically).
    /// A state holding NaN or infinity is refused, so a diverged run never replaces a good file.
    public func saveCheckpoint(to path: String, metadata: [String: String] = [:]) throws {
        let bad = nonFiniteState
        guard bad.isEmpty else {
            throw Diagnostic("not saving checkpoint '\(path)': \(bad.prefix(5).joined(separator: ", ")) hold NaN or infinity")
        }
        var meta = metadata
        meta["kiln.steps"] = String(stepCount)
        meta["kiln.graph"] = forward.name
        meta["kiln.optimizer"] = optimizer.description
        try SafetensorsFormat.write(state, metadata: meta, to: path)
    }

    /// Restores what `saveCheckpoint` wrote; returns its metadata.
    @discardableResult
    public func loadCheckpoint(from path: String) throws -> [String: String] {
        let (tensors, metadata) = try SafetensorsFormat.read(path: path)
        // The graph first: a LeNet-5 checkpoint resumed into an MLP is that, not a missing 'v_b3'.
        if let graph = metadata["kiln.graph"], graph != forward.name {
            throw Diagnostic("checkpoint '\(path)' was written for graph '\(graph)', not '\(forward.name)' (kiln.graph)")
        }
        for (name, current) in state.sorted(by: { $0.key < $1.key }) {
            guard let saved = tensors[name] else {
                // Optimiser state missing while the params are there: another optimiser or --freeze.
                let isOptimizerState = forward.param(named: name) == nil
                let hint = isOptimizerState
                    ? " (optimiser state: the checkpoint was written with \(metadata["kiln.optimizer"].map { "optimizer \($0)" } ?? "another optimiser") — resume with the same --optimizer and --freeze)"
                    : ""
                throw Diagnostic("checkpoint '\(path)' has no '\(name)'\(hint)")
            }
            guard saved.type == current.type else {
                throw Diagnostic("checkpoint '\(path)': '\(name)' is \(saved.type), the graph needs \(current.type)")
            }
            try saved.checkFinite("checkpoint '\(path)': '\(name)'")
        }
        let steps = metadata["kiln.steps"] ?? "0"
        // Step numbers seed dropout and count on; 2^53 keeps them exact and far from overflow.
        guard let count = Int(steps), (0...Self.maximumSteps).contains(count) else {
            throw Diagnostic("checkpoint '\(path)': kiln.steps '\(steps)' is not an integer in 0...\(Self.maximumSteps)")
        }
        // Only now, with every tensor checked: a bad file leaves the state untouched.
        for name in Array(state.keys) { state[name] = tensors[name] }
        stepCount = count
        return metadata
    }
}
