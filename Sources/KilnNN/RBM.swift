import KilnIR

/// A restricted Boltzmann machine with binary units, trained by contrastive divergence, as a
/// graph: the k steps of block Gibbs sampling are written into it, unrolled.
///
/// - CD-k (`persistent: false`): each step's chain starts at the (binarised) data batch and
///   runs k Gibbs steps v → h → v.
/// - PCD-k (`persistent: true`, Tieleman 2008): the chain is a `state` that survives between
///   steps; each step continues it by k Gibbs steps and the graph's own `update` writes the last
///   visible sample back.
///
/// The loss is mean F(v_data) − mean F(v_model) with the free energy
/// F(v) = −v·b_v − Σ_j softplus(v·W + b_h)_j; its gradient is the CD estimate
/// ⟨∂F/∂θ⟩_data − ⟨∂F/∂θ⟩_model, and `stop_gradient` keeps the sampler out of it. Outputs:
/// `loss`; `sample` (declared `as sample`: p(v | h) at the chain's last step, the model's
/// samples, drawn into the report once per epoch); `reconstruction` (`as reconstruction`:
/// p(v | h ~ p(h | v_data))) and `recon_error` (its mean squared error against the data);
/// `free_energy` (mean F(v_data): the training report compares it on training and validation
/// data — a growing gap between them is overfitting, Hinton's practical guide §6).
public struct RBM: Sendable, Equatable {
    /// Visible units (pixels).
    public let visible: Int
    /// Hidden units.
    public let hidden: Int
    /// Gibbs steps per training step, 1…`maximumK`.
    public let k: Int
    /// PCD (a persistent chain) instead of CD (a chain started at the data).
    public let persistent: Bool
    /// The largest k accepted (the chain is unrolled into the graph).
    public static let maximumK = 100

    public init(visible: Int, hidden: Int, k: Int = 1, persistent: Bool = false) {
        self.visible = visible
        self.hidden = hidden
        self.k = k
        self.persistent = persistent
    }

    /// The training graph for batches of `batch` examples; pixels above `threshold` are 1.
    public func graph(name: String? = nil, batch: Int = 128, threshold: Float = 0.5,
                      file: String = #fileID, line: Int = #line) throws -> Graph {
        let graphName = name ?? "rbm_\(persistent ? "pcd" : "cd")\(k)"
        guard (1...Self.maximumK).contains(k) else {
            throw Diagnostic("RBM: k must be in 1...\(Self.maximumK) Gibbs steps, got \(k)", at: SourceLocation(file: file, line: line, column: 1))
        }
        guard visible >= 1, hidden >= 1, batch >= 1 else {
            throw Diagnostic("RBM: visible (\(visible)), hidden (\(hidden)) and batch (\(batch)) must be at least 1",
                             at: SourceLocation(file: file, line: line, column: 1))
        }
        let m = ModelBuilder(graphName)
        let x = m.input("x", .f32, [batch, visible])
        let w = m.param("w", [visible, hidden], initializer: .normal(mean: 0, std: 0.01))
        let visibleBias = m.param("b_v", [visible], initializer: .zeros)
        let hiddenBias = m.param("b_h", [hidden], initializer: .zeros)
        let chain = persistent ? m.state("chain", [batch, visible], initializer: .zeros) : nil
        let data = x.greater(m.literal(threshold)).named("v_data")

        func hiddenGiven(_ v: Value) -> Value { add(v.matmul(w), hiddenBias).sigmoid() }
        func visibleGiven(_ h: Value) -> Value { add(h.matmul(w, transposeB: true), visibleBias).sigmoid() }
        func freeEnergy(_ v: Value) -> Value {
            let linear = v.matmul(visibleBias.reshape([visible, 1]))
            return -add(linear, add(v.matmul(w), hiddenBias).softplus().sum(axes: [1], keepDims: true))
        }

        var v = chain ?? data
        var probability = v
        for step in 1...k {
            let h = hiddenGiven(v).bernoulli(seed: 2 * step - 1).named("h_chain\(step)")
            probability = visibleGiven(h).named("v_prob\(step)")
            v = probability.bernoulli(seed: 2 * step).named("v_chain\(step)")
        }
        let model = v.stopGradient().named("v_model")
        let sample = probability.stopGradient().named("sample")
        let freeData = freeEnergy(data).named("free_data")
        let freeModel = freeEnergy(model).named("free_model")
        let loss = sub(freeData.mean(axes: [0, 1]), freeModel.mean(axes: [0, 1])).named("loss")
        let freeEnergyMean = freeData.mean(axes: [0, 1]).named("free_energy")
        let hData = hiddenGiven(data).bernoulli(seed: 2 * k + 1).named("h_data")
        let reconstruction = visibleGiven(hData).named("reconstruction")
        let error = mse(reconstruction, data).named("recon_error")
        m.output(loss, role: .loss)
        m.output(sample, role: .sample)
        m.output(reconstruction, role: .reconstruction)
        m.output(error, freeEnergyMean)
        if let chain { m.update(chain, with: model) }
        return try m.build(file: file, line: line)
    }
}
