import KilnIR

/// Layer normalisation over the last axis: `(x − mean) / √(variance + epsilon) · weight + bias`,
/// with a learned scale `weight` (ones) and shift `bias` (zeros) of the last axis's size.
/// The variance is the biased one (divided by the axis size), as in PyTorch and Keras.
///
/// Batch normalisation is not here yet: its running statistics need a train/eval mechanism
/// in the IR.
public final class LayerNorm: Layer {
    /// Added to the variance before the square root.
    public let epsilon: Float
    private let weightName: String?, biasName: String?
    private var binding: LayerBinding
    /// The scale [features], once the layer has been applied.
    public private(set) var weight: Value?
    /// The shift [features], once the layer has been applied.
    public private(set) var bias: Value?

    /// A layer norm (params `layernorm1.weight`, `layernorm1.bias`, or under `name`;
    /// `weight`/`bias` give full param names).
    public init(epsilon: Float = 1e-5, name: String? = nil, weight: String? = nil, bias: String? = nil,
                file: String = #fileID, line: Int = #line) {
        self.epsilon = epsilon
        weightName = weight
        biasName = bias
        binding = LayerBinding(kind: "layernorm", name: name, declared: CallSite(file: file, line: line))
    }

    /// The layer's name prefix, once it has been applied.
    public var name: String? { binding.name }

    /// Normalises each vector along the last axis, then scales and shifts it.
    public func forward(_ x: Value, at site: CallSite) -> Value {
        guard let dims = binding.prepare(x, rank: 1, for: "LayerNorm", at: site) else { return x.model.poisoned }
        return binding.within {
            if weight == nil {
                weight = binding.param("weight", explicit: weightName, [dims[dims.count - 1]], .ones)
                bias = binding.param("bias", explicit: biasName, [dims[dims.count - 1]], .zeros)
            }
            guard let weight, let bias else { return x.model.poisoned }
            let (file, line) = (site.file, site.line), axis = [dims.count - 1]
            let centered = sub(x, x.mean(axes: axis, keepDims: true, file: file, line: line), file: file, line: line)
            let variance = centered.square(file: file, line: line).mean(axes: axis, keepDims: true, file: file, line: line)
            let scale = add(variance, x.model.constant(epsilon, file: file, line: line), file: file, line: line).rsqrt(file: file, line: line)
            return add(mul(mul(centered, scale, file: file, line: line), weight, file: file, line: line), bias, file: file, line: line)
        }
    }
}

/// A lookup table: an i32 index tensor of any shape becomes its rows of a learned
/// [vocabulary, dimension] table (the `gather` op), so [N, T] indices give [N, T, dimension].
/// An index outside [0, vocabulary) is a run-time error naming it.
public final class Embedding: Layer {
    /// The number of rows (distinct indices).
    public let vocabulary: Int
    /// The length of each row.
    public let dimension: Int
    private let weightName: String?
    private let initializer: Initializer
    private var binding: LayerBinding
    /// The table [vocabulary, dimension], once the layer has been applied.
    public private(set) var weight: Value?

    /// An embedding table (param `embedding1.weight`, or under `name`; `weight` gives the full
    /// name), initialised from N(0, 1) as in PyTorch unless `initializer` says otherwise.
    public init(vocabulary: Int, dimension: Int, initializer: Initializer = .normal(mean: 0, std: 1),
                name: String? = nil, weight: String? = nil, file: String = #fileID, line: Int = #line) {
        self.vocabulary = vocabulary
        self.dimension = dimension
        self.initializer = initializer
        weightName = weight
        binding = LayerBinding(kind: "embedding", name: name, declared: CallSite(file: file, line: line))
    }

    /// The layer's name prefix, once it has been applied.
    public var name: String? { binding.name }

    /// The table's rows at `indices`.
    public func forward(_ indices: Value, at site: CallSite) -> Value {
        guard binding.prepare(indices, rank: 0, dtype: .i32, describing: "i32 indices", for: "Embedding", at: site) != nil else { return indices.model.poisoned }
        return binding.within {
            if weight == nil { weight = binding.param("weight", explicit: weightName, [vocabulary, dimension], initializer) }
            guard let weight else { return indices.model.poisoned }
            return gather(weight, indices, file: site.file, line: site.line)
        }
    }
}
