import KilnIR

/// Symbolic reverse-mode differentiation of Kiln IR. Appends to the graph the nodes that
/// compute the gradient of the scalar `loss` with respect to `wrt` (default: every trainable
/// param), names each gradient `d_<name>`, and adds those as outputs. The result is ordinary
/// IR: it prints, parses, verifies and runs on any backend.
public struct Differentiation: Pass {
    public let name = "differentiate"
    public var loss: String
    /// Values to differentiate with respect to; nil means every trainable param.
    public var wrt: [String]?
    /// Add each gradient to the graph's outputs.
    public var outputsGradients: Bool
    /// Test switch (nil in normal use): the adjoints this op's rule emits are scaled by 1.5, a
    /// deliberately wrong gradient for testing gradient checkers (`kiln gradcheck` sets it
    /// from `KILN_TEST_BREAK_GRADIENT=OP`).
    public var testBreaking: OpKind?

    public init(loss: String, wrt: [String]? = nil, outputsGradients: Bool = true) {
        self.loss = loss
        self.wrt = wrt
        self.outputsGradients = outputsGradients
    }

    public func run(_ graph: Graph) throws -> Graph {
        try differentiate(graph).graph
    }

    /// The graph with gradients, and the name of each target's gradient value.
    public func differentiate(_ input: Graph) throws -> (graph: Graph, gradients: [(wrt: String, gradient: String)]) {
        let graph = try input.nodes.contains { $0.type == nil } ? inferTypes(input) : input
        let types = graph.valueTypes
        guard let lossType = types[loss] else { throw Diagnostic("loss '\(loss)' is not a value of graph '\(graph.name)'") }
        guard lossType.dtype == .f32, lossType.rank == 0 else {
            throw Diagnostic("loss '\(loss)' must be a scalar f32, it is \(lossType)", at: graph.node(named: loss)?.location)
        }
        let targets = wrt ?? graph.trainableParams.map(\.name)
        for target in targets {
            guard let t = types[target] else { throw Diagnostic("cannot differentiate with respect to unknown value '\(target)'") }
            guard t.dtype == .f32 else { throw Diagnostic("cannot differentiate with respect to '\(target)' of type \(t)") }
        }

        let active = activeValues(graph, from: Set(targets))
        try checkDifferentiablePath(graph, active: active)

        var e = NodeEmitter(graph)
        var contributions: [String: [String]] = [:]
        /// How many adjoint lists hold each gradient value: a shared one keeps its name.
        var shares: [String: Int] = [:]
        let seedName = e.builder.freeName("d_\(loss)")
        contributions[loss] = [try e.emit(.constant, [], [("value", .float(1))], name: seedName)]

        for node in graph.nodes.reversed() {
            guard active.contains(node.name), let parts = contributions[node.name] else { continue }
            e.location = node.location
            let dy = try accumulate(parts, for: node.name, shares: shares, &e)
            for part in parts { shares[part, default: 1] -= 1 }
            var wanted = Set<Int>()
            for (i, operand) in node.operands.enumerated()
            where active.contains(operand) && node.op.gradientRule(operand: i) == .defined {
                wanted.insert(i)
            }
            var grads = try emitGradients(of: node, dy: dy, wanted: wanted, &e)
            if node.op == testBreaking {
                for (i, g) in grads { grads[i] = try e.mul(g, 1.5) }
            }
            for (i, g) in grads.sorted(by: { $0.key < $1.key }) {
                contributions[node.operands[i], default: []].append(g)
                shares[g, default: 0] += 1
            }
        }

        e.location = nil
        var gradients: [(wrt: String, gradient: String)] = []
        for target in targets {
            var gradient: String
            if let parts = contributions[target] {
                gradient = try accumulate(parts, for: target, shares: shares, &e)
                if gradient != "d_\(target)", !e.builder.isDefined("d_\(target)") {
                    // The adjoint is another value's (e.g. d_y for w in y = w + x): a named view
                    // keeps `d_<param>` the gradient's name; simplify folds it away if not an output.
                    let type = e.type(gradient)
                    gradient = try e.emit(.reshape, [gradient], [("shape", .ints(type.shape.dims))], name: "d_\(target)")
                }
            } else {
                // The loss does not depend on it: its gradient is zero, as JAX would say.
                let shape = types[target]?.shape.dims ?? []
                gradient = try e.emit(.constant, [], [("value", .float(0)), ("shape", .ints(shape))],
                                      name: e.builder.freeName("d_\(target)"))
            }
            gradients.append((target, gradient))
            if outputsGradients, !e.builder.isOutput(gradient) { try e.builder.addOutput(gradient) }
        }
        return (e.graph, gradients)
    }

    /// Sums the adjoint contributions of `value` and gives the sum its readable name when
    /// the value has one (`d_h1`); adjoints of temporaries stay `%N`.
    private func accumulate(_ parts: [String], for value: String, shares: [String: Int], _ e: inout NodeEmitter) throws -> String {
        var total = parts[0]
        for part in parts.dropFirst() { total = try e.add(total, part) }
        // Only a temporary this value owns is renamed: a named contribution is another value's
        // adjoint, and one shared with another operand (add's dy) must keep its name.
        let owned = parts.count > 1 || shares[total, default: 0] <= 1
        if !value.hasPrefix("%"), total.hasPrefix("%"), owned {
            let name = e.builder.freeName("d_\(value)")
            try e.builder.rename(total, to: name)
            return name
        }
        return total
    }

    /// Values that depend on a target through operands a gradient can flow along.
    private func activeValues(_ graph: Graph, from targets: Set<String>) -> Set<String> {
        var active = targets
        for node in graph.nodes {
            for (i, operand) in node.operands.enumerated()
            where active.contains(operand) && node.op.gradientRule(operand: i) != .zero {
                active.insert(node.name)
                break
            }
        }
        // Keep only values the loss depends on.
        var needed: Set<String> = [loss]
        for node in graph.nodes.reversed() where needed.contains(node.name) {
            for operand in node.operands { needed.insert(operand) }
        }
        return active.intersection(needed)
    }

    private func checkDifferentiablePath(_ graph: Graph, active: Set<String>) throws {
        for node in graph.nodes where active.contains(node.name) {
            for (i, operand) in node.operands.enumerated()
            where active.contains(operand) && node.op.gradientRule(operand: i) == .undefined {
                throw Diagnostic("cannot differentiate through \(node.op.name) ('\(node.name)') on the path to '\(loss)'",
                                 at: node.location)
            }
        }
    }
}
