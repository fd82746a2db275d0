import KilnIR

// Ops for sampling, training-only behaviour and gradient control (RBMs, batch norm, noise).

extension Value {
    /// `log(1 + exp(x))`, computed stably (`softplus` op).
    public func softplus(file: String = #fileID, line: Int = #line) -> Value {
        model.apply(.softplus, [self], file: file, line: line)
    }

    /// The same value, through which no gradient flows (`stop_gradient` op): CD-k's negative
    /// phase, targets computed from the model.
    public func stopGradient(file: String = #fileID, line: Int = #line) -> Value {
        model.apply(.stop_gradient, [self], file: file, line: line)
    }

    /// 1 with probability `self` (elementwise, in [0, 1]), else 0 (`bernoulli` op; counter-based
    /// RNG seeded by `seed` and the step, identical on every backend). No gradient.
    public func bernoulli(seed: Int = 0, file: String = #fileID, line: Int = #line) -> Value {
        model.apply(.bernoulli, [self], [("seed", .int(seed))], file: file, line: line)
    }
}

/// `training` when the graph runs as written (training steps), `evaluation` in evaluation graphs
/// (`if_training` op): batch norm's batch statistics vs its running ones, a noisy input vs the
/// clean one. Only `training` receives a gradient; `evaluation` must broadcast to it.
public func ifTraining(_ training: Value, else evaluation: Value, file: String = #fileID, line: Int = #line) -> Value {
    training.model.apply(.if_training, [training, evaluation], file: file, line: line)
}

extension ModelBuilder {
    /// Uniform noise in [low, high) of `shape` (`random_uniform` op), new every step.
    public func randomUniform(shape: [Int], low: Double = 0, high: Double = 1, seed: Int = 0,
                              file: String = #fileID, line: Int = #line) -> Value {
        apply(.random_uniform, [], [("shape", .ints(shape)), ("low", .float(low)), ("high", .float(high)), ("seed", .int(seed))],
              file: file, line: line)
    }

    /// Indices along `axis` of a tensor of `shape` (`iota` op): `iota([2, 3], axis: 1)` is
    /// [[0, 1, 2], [0, 1, 2]].
    public func iota(shape: [Int], axis: Int = 0, dtype: DType = .i32, file: String = #fileID, line: Int = #line) -> Value {
        apply(.iota, [], [("shape", .ints(shape)), ("axis", .int(axis)), ("dtype", .dtype(dtype))], file: file, line: line)
    }
}
