import KilnIR

/// A fully connected layer: `y = activation(x·W + b)` over the last axis of `x`, with
/// W: [in, units] (Glorot uniform) and b: [units] (zeros). `in` is read from the input's
/// shape at the first call. Inputs of rank 2 or 3 use one (batched) `matmul`; higher ranks
/// are flattened to rank 2 around it.
///
/// ```swift
/// let hidden = Dense(120, activation: .relu)      // params dense1.weight, dense1.bias
/// let h = hidden(x)
/// ```
public final class Dense: Layer {
    /// The number of output features.
    public let units: Int
    /// Applied after the affine part.
    public let activation: Activation
    /// Whether the layer adds a bias.
    public let useBias: Bool
    private let weightName: String?, biasName: String?
    private let weightInitializer: Initializer
    private var binding: LayerBinding
    /// The weight [in, units], once the layer has been applied.
    public private(set) var weight: Value?
    /// The bias [units], once the layer has been applied (nil without a bias).
    public private(set) var bias: Value?

    /// A dense layer with `units` outputs. `name` replaces the automatic prefix (`dense1`);
    /// `weight`/`bias` give the params' full names instead (`w1`, `b1`).
    public convenience init(_ units: Int, activation: Activation = .none, useBias: Bool = true,
                            weightInitializer: Initializer = .glorotUniform,
                            name: String? = nil, weight: String? = nil, bias: String? = nil,
                            file: String = #fileID, line: Int = #line) {
        self.init(units: units, activation: activation, useBias: useBias, weightInitializer: weightInitializer, kind: "dense",
                  name: name, weight: weight, bias: bias, declared: CallSite(file: file, line: line))
    }

    /// The designated initializer; `kind` is the stem of automatic names (Maxout uses `maxout`).
    init(units: Int, activation: Activation, useBias: Bool, weightInitializer: Initializer, kind: String,
         name: String?, weight: String?, bias: String?, declared: CallSite) {
        self.units = units
        self.activation = activation
        self.useBias = useBias
        self.weightInitializer = weightInitializer
        weightName = weight
        biasName = bias
        binding = LayerBinding(kind: kind, name: name, declared: declared)
    }

    /// The layer's name prefix (`dense1`, or the one given), once it has been applied.
    public var name: String? { binding.name }

    /// `activation(x·W + b)`.
    public func forward(_ x: Value, at site: CallSite) -> Value {
        guard let dims = binding.prepare(x, rank: 2, for: "Dense", at: site) else { return x.model.poisoned }
        return binding.within {
            if weight == nil {
                weight = binding.param("weight", explicit: weightName, [dims[dims.count - 1], units], weightInitializer)
                if useBias { bias = binding.param("bias", explicit: biasName, [units], .zeros) }
            }
            guard let weight else { return x.model.poisoned }
            let (file, line) = (site.file, site.line)
            if let inputs = weight.shape.first, inputs != dims[dims.count - 1] {
                let given = x.type.map { "\($0)" } ?? "\(dims)"
                return x.model.fail("Dense was built for \(inputs) input features at its first call, got \(given)", file: file, line: line)
            }
            let flat = dims.count > 3 ? x.reshape([-1, dims[dims.count - 1]], file: file, line: line) : x
            var y = flat.matmul(weight, file: file, line: line)
            if let bias { y = add(y, bias, file: file, line: line) }
            if dims.count > 3 { y = y.reshape(Array(dims.dropLast()) + [units], file: file, line: line) }
            return activation.apply(y, file: file, line: line)
        }
    }
}

/// Maxout: `k` affine pieces per output unit and their elementwise maximum,
/// `y = max_j (x·W_j + b_j)`, with W: [in, k·units] and b: [k·units] stored as one matrix.
public final class Maxout: Layer {
    /// The number of output features.
    public let units: Int
    /// The number of linear pieces each unit takes the maximum of.
    public let pieces: Int
    private let affine: Dense

    /// A maxout layer with `units` outputs of `pieces` pieces each (params `maxout1.weight`,
    /// `maxout1.bias`, or named by `name`).
    public init(_ units: Int, pieces: Int, name: String? = nil, file: String = #fileID, line: Int = #line) {
        self.units = units
        self.pieces = pieces
        affine = Dense(units: units * pieces, activation: .none, useBias: true, weightInitializer: .glorotUniform, kind: "maxout",
                       name: name, weight: nil, bias: nil, declared: CallSite(file: file, line: line))
    }

    /// The layer's name prefix, once it has been applied.
    public var name: String? { affine.name }

    /// `max` over the pieces of the affine map, piece j being columns [j·units, (j+1)·units).
    public func forward(_ x: Value, at site: CallSite) -> Value {
        guard pieces >= 1 else { return x.model.fail("Maxout needs at least one piece, got \(pieces)", file: site.file, line: site.line) }
        let z = affine.forward(x, at: site)
        guard let dims = z.type?.shape.dims else { return z }
        let (file, line) = (site.file, site.line)
        let batch = Array(dims.dropLast())
        func piece(_ j: Int) -> Value {
            z.slice(begin: batch.map { _ in 0 } + [j * units], end: batch + [(j + 1) * units], file: file, line: line)
        }
        var y = piece(0)
        for j in 1..<pieces { y = y.maximum(piece(j), file: file, line: line) }
        return y
    }
}
