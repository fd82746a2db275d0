import KilnIR

/// Batch normalisation over the channel axis 1 (features of [N, C], channels of [N, C, H, W]):
/// `(x − mean) / √(variance + epsilon) · weight + bias`.
///
/// While training, mean and (biased) variance are the batch's, over every axis but the
/// channel; each step also moves the running statistics (state, not params) towards them,
/// `running ← (1 − momentum)·running + momentum·batch` with the unbiased variance, as PyTorch
/// does. In evaluation graphs (`eval-mode`: the `if_training` op picks its second operand) the
/// running statistics are used and not updated, so predictions do not depend on the batch.
public final class BatchNorm: Layer {
    /// Added to the variance before the square root.
    public let epsilon: Float
    /// How far each step moves the running statistics.
    public let momentum: Float
    private var binding: LayerBinding
    /// The scale [C], once applied.
    public private(set) var weight: Value?
    /// The shift [C], once applied.
    public private(set) var bias: Value?
    /// The running mean and variance (state), once applied.
    public private(set) var runningMean: Value?, runningVariance: Value?

    /// A batch norm (params `batchnorm1.weight`/`.bias`, state `batchnorm1.running_mean`/
    /// `.running_var`, or under `name`).
    public init(epsilon: Float = 1e-5, momentum: Float = 0.1, name: String? = nil, file: String = #fileID, line: Int = #line) {
        self.epsilon = epsilon
        self.momentum = momentum
        binding = LayerBinding(kind: "batchnorm", name: name, declared: CallSite(file: file, line: line))
    }

    /// The layer's name prefix, once it has been applied.
    public var name: String? { binding.name }

    /// Normalises with the batch's statistics (training) or the running ones (evaluation).
    public func forward(_ x: Value, at site: CallSite) -> Value {
        guard let dims = binding.prepare(x, rank: 2, for: "BatchNorm", at: site) else { return x.model.poisoned }
        let m = x.model, (file, line) = (site.file, site.line)
        // Statistics are kept as [C, 1, …, 1], which broadcasts against [N, C, …].
        let statShape = [dims[1]] + [Int](repeating: 1, count: dims.count - 2)
        let axes = [0] + Array(2..<dims.count)
        let count = dims.enumerated().filter { $0.offset != 1 }.map(\.element).reduce(1, *)
        return binding.within {
            if weight == nil, let prefix = binding.name {
                weight = binding.param("weight", explicit: nil, statShape, .ones)
                bias = binding.param("bias", explicit: nil, statShape, .zeros)
                runningMean = m.state("\(prefix).running_mean", statShape, initializer: .zeros, file: binding.declared.file, line: binding.declared.line)
                runningVariance = m.state("\(prefix).running_var", statShape, initializer: .ones, file: binding.declared.file, line: binding.declared.line)
            }
            guard let weight, let bias, let runningMean, let runningVariance else { return m.poisoned }
            func c(_ v: Float) -> Value { m.constant(v, file: file, line: line) }
            let mean = x.mean(axes: axes, keepDims: true, file: file, line: line).reshape(statShape, file: file, line: line)
            let centered = sub(x, mean, file: file, line: line)
            let variance = centered.square(file: file, line: line).mean(axes: axes, keepDims: true, file: file, line: line)
                .reshape(statShape, file: file, line: line)
            let usedMean = ifTraining(mean, else: runningMean, file: file, line: line)
            let usedVariance = ifTraining(variance, else: runningVariance, file: file, line: line)
            let scale = add(usedVariance, c(epsilon), file: file, line: line).rsqrt(file: file, line: line)
            let normalised = mul(sub(x, usedMean, file: file, line: line), scale, file: file, line: line)
            let keep = c(1 - momentum), step = c(momentum)
            let unbiased = mul(variance, c(Float(count) / Float(Swift.max(count - 1, 1))), file: file, line: line)
            m.update(runningMean, with: add(mul(runningMean, keep, file: file, line: line), mul(mean, step, file: file, line: line), file: file, line: line),
                     file: file, line: line)
            m.update(runningVariance, with: add(mul(runningVariance, keep, file: file, line: line), mul(unbiased, step, file: file, line: line), file: file, line: line),
                     file: file, line: line)
            return add(mul(normalised, weight, file: file, line: line), bias, file: file, line: line)
        }
    }
}
