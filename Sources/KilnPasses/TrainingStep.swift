import KilnIR

/// Turns a forward graph into one training step: forward, gradients of `loss`, and each
/// trainable parameter's optimiser update, written back through `update` statements.
/// Optimiser state (`vel_w`, `m_w`, `v_w`, `sq_w`, `opt_step`) becomes persistent `state`,
/// and the learning rate becomes the scalar input `lr`.
///
/// The graph's own `update` statements (batch norm's running statistics, an RBM's persistent
/// chain) are kept next to the optimiser's: every update reads the values from before the
/// step, so the two sets do not interfere. A trainable param may not be both: its new value
/// would be ambiguous.
public struct TrainingStep: Pass {
    public let name = "training-step"
    public var loss: String
    public var optimizer: Optimizer

    /// The params this step trains (nil: every trainable param). A GAN's two steps train
    /// disjoint halves of one graph's params.
    public var params: [String]?

    public init(loss: String, optimizer: Optimizer, params: [String]? = nil) {
        self.loss = loss
        self.optimizer = optimizer
        self.params = params
    }

    /// The name of the learning-rate input in a training-step graph.
    public static let learningRateInput = "lr"

    public func run(_ graph: Graph) throws -> Graph {
        let (withGradients, gradients) = try Differentiation(loss: loss, wrt: params, outputsGradients: false).differentiate(graph)
        let graphUpdates = Dictionary(graph.updates.map { ($0.target, $0) }, uniquingKeysWith: { first, _ in first })
        for (param, _) in gradients {
            guard let own = graphUpdates[param] else { continue }
            throw Diagnostic("param '\(param)' is written by the graph's 'update \(param) = \(own.value)' and by the optimizer; "
                             + "declare it 'state' (not trained) or drop the update", at: own.location)
        }
        return try appendingUpdates(to: withGradients, gradients: gradients)
    }

    /// Appends the optimiser update of each `(param, gradient)` pair to `graph`: the `lr`
    /// input, optimiser state and `update` statements. `run` calls it after differentiating;
    /// data-parallel training (KilnDistributed) calls it on a graph whose gradients are
    /// inputs, so the update runs after the all-reduce.
    public func appendingUpdates(to withGradients: Graph, gradients: [(wrt: String, gradient: String)]) throws -> Graph {
        var e = NodeEmitter(withGradients)
        let lrName = e.builder.freeName(Self.learningRateInput)
        try e.builder.addInput(lrName, TensorType(.f32, .scalar))
        let o = optimizer

        // Adam's bias corrections share one step counter.
        var corrections: (String, String)?
        if o.kind == .adam {
            let stepName = e.builder.freeName("opt_step")
            try e.builder.addParam(stepName, TensorType(.f32, .scalar), .zeros, role: .state)
            let next = try e.emit(.add, [stepName, try e.constant(1)], name: e.builder.freeName("new_\(stepName)"))
            try e.builder.addUpdate(stepName, next)
            // 1 − βᵗ for each moment.
            let c1 = try e.sub(try e.constant(1), try e.emit(.pow, [try e.constant(o.beta1), next]))
            let c2 = try e.sub(try e.constant(1), try e.emit(.pow, [try e.constant(o.beta2), next]))
            corrections = (c1, c2)
        }

        // By name, once: looking each one up in the graph's lists made a step quadratic in its params.
        var paramTypes: [String: TensorType] = [:]
        for p in withGradients.params where paramTypes[p.name] == nil { paramTypes[p.name] = p.type }
        /// The value each `update` statement writes back (`new_<target>`).
        var written: [String: String] = [:]
        for (param, gradient) in gradients {
            guard let type = paramTypes[param] else { continue }
            var g = gradient
            if o.weightDecay != 0 { g = try e.add(g, try e.mul(param, o.weightDecay)) }
            if o.l1 != 0 { g = try e.add(g, try e.mul(try e.emit(.sign, [param]), o.l1)) }
            func state(_ prefix: String, _ initializer: Initializer = .zeros) throws -> String {
                let stateName = e.builder.freeName("\(prefix)_\(param)")
                try e.builder.addParam(stateName, type, initializer, role: .state)
                return stateName
            }
            func update(_ target: String, _ value: String) throws {
                let named = e.builder.freeName("new_\(target)")
                try e.builder.rename(value, to: named)
                try e.builder.addUpdate(target, named)
                written[target] = named
            }
            /// The value written back to `target` (named `new_<target>` by `update`).
            func newName(_ target: String) throws -> String {
                guard let value = written[target] else { throw Diagnostic("internal: no update for '\(target)'") }
                return value
            }
            let step: String
            switch o.kind {
            case .sgd:
                step = try e.mul(g, lrName)
            case .momentum, .nesterov:
                // v ← βv + g;  w ← w − lr·v  (Nesterov: w ← w − lr·(g + βv))
                let velocity = try state("vel")
                let v = try e.add(try e.mul(velocity, o.beta1), g)
                try update(velocity, v)
                let newVelocity = try newName(velocity)
                let direction = o.kind == .momentum ? newVelocity : try e.add(g, try e.mul(newVelocity, o.beta1))
                step = try e.mul(direction, lrName)
            case .rmsprop:
                // s ← ρs + (1−ρ)g²;  w ← w − lr·g/(√s + ε)
                let square = try state("sq")
                let s = try e.add(try e.mul(square, o.beta1), try e.mul(try e.emit(.square, [g]), 1 - o.beta1))
                try update(square, s)
                let denominator = try e.add(try e.emit(.sqrt, [try newName(square)]), o.epsilon)
                step = try e.mul(try e.div(g, denominator), lrName)
            case .adagrad:
                // s ← s + g²;  w ← w − lr·g/(√s + ε)   (s starts at initial_accumulator)
                let sum = try state("acc", .constant(o.initialAccumulator))
                try update(sum, try e.add(sum, try e.emit(.square, [g])))
                let denominator = try e.add(try e.emit(.sqrt, [try newName(sum)]), o.epsilon)
                step = try e.mul(try e.div(g, denominator), lrName)
            case .adam:
                // m ← β1m + (1−β1)g;  v ← β2v + (1−β2)g²;  w ← w − lr·m̂/(√v̂ + ε)
                let (c1, c2) = corrections ?? (g, g)
                let m = try state("m"), v = try state("v")
                try update(m, try e.add(try e.mul(m, o.beta1), try e.mul(g, 1 - o.beta1)))
                try update(v, try e.add(try e.mul(v, o.beta2), try e.mul(try e.emit(.square, [g]), 1 - o.beta2)))
                let mHat = try e.div(try newName(m), c1)
                let vHat = try e.div(try newName(v), c2)
                step = try e.mul(try e.div(mHat, try e.add(try e.emit(.sqrt, [vHat]), o.epsilon)), lrName)
            }
            let next = try e.sub(param, step)
            try update(param, next)
        }
        return e.graph
    }
}
