import KilnIR
import KilnPasses
import KilnRuntime

/// Finite differences against the symbolic gradient, param by param, on any backend (`kiln
/// gradcheck --backend interp|jit`): the one finite-difference checker of the project, used by
/// the CLI and by every gradient test. The symbolic gradient and the differenced loss both run
/// on `backend`, so a JIT check covers the JIT's own kernels for the forward and backward ops.
///
/// Kiln computes in float32, so the check is built to keep float32 rounding out of the
/// comparison: the interpreter sums the loss in double precision in every reduction (the JIT
/// sums in float32, so its differences carry more rounding: measured worst errors run a few
/// times the interpreter's, and a wider `step` helps where the loss is linear), the central
/// difference (L(w + h) − L(w − h)) / 2h is formed in Double, and h is scaled to each element
/// (`h = step · max(1, |w|)`, tried at 10, 3 and 1 times `step`, keeping the best agreement).
/// What float32 cannot hide is the rounding of the loss itself: one ULP of L divided by 2h. The
/// relative error of an element is therefore |fd − ad| / max(|fd|, |ad|, floor), where floor is
/// the larger of `floor` and 50 times that resolution: gradients below it are compared
/// absolutely, where a relative error would only measure rounding. (A float64 check would need
/// float64 kernels, which Kiln does not have.)
public struct GradientCheck {
    public var loss: String
    /// Elements checked per param (spread evenly over it; every element when it has fewer).
    public var samples: Int
    /// The relative finite-difference step.
    public var step: Double
    /// Below this magnitude, errors are absolute.
    public var floor: Double
    /// Test switch: break this op's gradient rule (see `Differentiation.testBreaking`).
    public var breaking: OpKind?
    /// Where the symbolic gradient and the loss are computed.
    public var backend: ComparedBackend

    public init(loss: String, samples: Int = 16, step: Double = 1e-3, floor: Double = 1e-3, breaking: OpKind? = nil,
                backend: ComparedBackend = .interpreter) {
        self.loss = loss
        self.samples = samples
        self.step = step
        self.floor = floor
        self.breaking = breaking
        self.backend = backend
    }

    /// The worst element of one param.
    public struct ParamResult: Sendable {
        public var param: String
        public var checked: Int
        public var elements: Int
        public var worstIndex: Int
        public var symbolic: Double
        public var numeric: Double
        public var relativeError: Double
        /// The magnitude below which the worst element was compared absolutely.
        public var floor: Double

        /// "w1[3]: symbolic 0.25 vs finite difference 0.3 (relative error 0.17)".
        public var summary: String {
            "\(param)[\(worstIndex)]: symbolic \(symbolic) vs finite difference \(numeric) (relative error \(relativeError), \(checked)/\(elements) checked)"
        }
    }

    /// Runs the check; `state` holds every param and state value, `inputs` every input. One
    /// result per param the loss is differentiated with respect to (every trainable param it
    /// depends on), in the gradient pass's order.
    public func run(_ graph: Graph, inputs: [String: Tensor], state: [String: Tensor], step runStep: Int = 0) throws -> [ParamResult] {
        guard samples >= 1 else { throw Diagnostic("samples must be at least 1, got \(samples)") }
        guard step.isFinite, step > 0 else { throw Diagnostic("the finite-difference step must be a finite number > 0, got \(step)") }
        guard floor.isFinite, floor >= 0 else { throw Diagnostic("floor must be a finite number >= 0, got \(floor)") }
        var forward = graph
        if !forward.outputs.contains(loss), forward.valueTypes[loss] != nil { forward.outputs.append(loss) }
        var differentiation = Differentiation(loss: loss)
        differentiation.testBreaking = breaking
        let (gradientGraph, gradients) = try differentiation.differentiate(forward)
        var scratch = state.mapValues { $0.copy() }
        let symbolic = try backend.make(gradientGraph).run(inputs: inputs, state: &scratch, step: runStep)
        var analytic: [String: [Float]] = [:]
        for (_, gradientName) in gradients { analytic[gradientName] = symbolic[gradientName]?.floats }
        let (surrogate, held) = try holdingBlockedValues(forward, inputs: inputs, state: state, step: runStep)
        let evaluate = try backend.make(surrogate)
        let fed = inputs.merging(held) { $1 }
        func lossValue(_ state: [String: Tensor]) throws -> Double {
            var s = state
            guard let value = try evaluate.run(inputs: fed, state: &s, step: runStep)[loss]?.floats.first else {
                throw Diagnostic("loss '\(loss)' is not an output of graph '\(forward.name)'")
            }
            return Double(value)
        }
        var results: [ParamResult] = []
        for (param, gradientName) in gradients {
            guard let original = state[param], let ad = analytic[gradientName] else {
                throw Diagnostic("no value for param '\(param)'")
            }
            let count = original.elementCount
            let picks = count <= samples ? Array(0..<count) : (0..<samples).map { $0 * count / samples }
            var worst = ParamResult(param: param, checked: picks.count, elements: count, worstIndex: 0, symbolic: 0, numeric: 0,
                                    relativeError: -1, floor: floor)
            for j in picks {
                let w = original.floatPointer[j]
                let analytic = Double(ad[j])
                // The best agreement over three steps: rounding noise shrinks as h grows, a kink
                // (ReLU, max-pool switching) crossed by w ± h shrinks as h does; a wrong gradient
                // disagrees at every h.
                var best: (error: Double, numeric: Double, floor: Double)?
                for scale in [10.0, 3.0, 1.0] {
                    let h = Float(step * scale * Swift.max(1, Double(Swift.abs(w))))
                    func perturbed(_ delta: Float) -> [String: Tensor] {
                        var s = state
                        let copy = original.copy()
                        copy.floatPointer[j] = w + delta
                        s[param] = copy
                        return s
                    }
                    // The step actually taken, after rounding w ± h to float32.
                    let span = Double((w + h) - (w - h))
                    let (above, below) = (try lossValue(perturbed(h)), try lossValue(perturbed(-h)))
                    let numeric = (above - below) / span
                    let resolution = Double(Float(Swift.max(Swift.abs(above), Swift.abs(below))).ulp) / span
                    let elementFloor = Swift.max(floor, 50 * resolution)
                    let error = Swift.abs(numeric - analytic) / Swift.max(Swift.abs(numeric), Swift.abs(analytic), elementFloor)
                    if best == nil || error < best?.error ?? .infinity || error.isNaN && best?.error.isNaN == true {
                        best = (error, numeric, elementFloor)
                    }
                }
                let (error, numeric, elementFloor) = best ?? (.nan, .nan, floor)
                if error > worst.relativeError || error.isNaN {
                    worst = ParamResult(param: param, checked: picks.count, elements: count, worstIndex: j,
                                        symbolic: analytic, numeric: numeric, relativeError: error, floor: elementFloor)
                }
            }
            results.append(worst)
        }
        return results
    }

    /// The graph the differences are taken on: every value the symbolic gradient treats as a
    /// constant (`blocksGradient`: stop_gradient, bernoulli samples, comparison masks) becomes
    /// an input fed with its value at the unperturbed point. Perturbing a param then moves the
    /// loss exactly as the symbolic gradient assumes — an RBM's contrastive-divergence loss is
    /// smooth in its params once its Gibbs samples are held, though not through the sampler.
    func holdingBlockedValues(_ graph: Graph, inputs: [String: Tensor], state: [String: Tensor],
                              step: Int) throws -> (Graph, [String: Tensor]) {
        let blocked = graph.nodes.filter { $0.op.blocksGradient && !$0.operands.isEmpty }
        guard !blocked.isEmpty else { return (graph, [:]) }
        var probe = graph
        probe.updates = []
        for node in blocked where !probe.outputs.contains(node.name) { probe.outputs.append(node.name) }
        var scratch = state.mapValues { $0.copy() }
        let values = try backend.make(probe).run(inputs: inputs, state: &scratch, step: step)
        var surrogate = graph
        surrogate.updates = []
        let names = Set(blocked.map(\.name))
        let types = graph.valueTypes
        surrogate.nodes.removeAll { names.contains($0.name) }
        var held: [String: Tensor] = [:]
        for node in blocked {
            guard let type = types[node.name], let value = values[node.name] else {
                throw Diagnostic("internal: no value for '\(node.name)'", at: node.location)
            }
            surrogate.inputs.append(Input(name: node.name, type: type))
            held[node.name] = value
        }
        return (surrogate, held)
    }
}
