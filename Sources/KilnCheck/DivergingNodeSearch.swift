import KilnIR
import KilnPasses
import KilnRuntime

/// Finds the first node, in schedule order, that a backend computes wrongly, without looking
/// inside any backend: the optimised graph is copied with every node result made an output (so
/// nothing is fused differently — fusion already ran — but every value survives the step),
/// memory is re-planned, and both backends run it once. Then each node's results are checked
/// against the interpreter's kernel run on *that backend's own operands*, so error carried in
/// from earlier nodes cancels and a miscompiled kernel stands out even deep in a training step.
/// Inside a diverging fused kernel, each body op's dependency cone is built as a kernel of its
/// own and run on the backend, which names the op that goes wrong.
///
/// Keeping every value as an output turns off in-place buffer reuse: a divergence that only
/// appears with the memory plan's sharing is reported as "no node diverges" with a note.
struct DivergingNodeSearch {
    let graph: Graph
    let backends: (reference: ComparedBackend, candidate: ComparedBackend)
    let tolerance: Tolerance

    func run(feeds: [String: Tensor], state: [String: Tensor], step: Int, runFailed: Bool) throws -> NodeSearch {
        var everything = graph
        var outputs = graph.outputs
        for node in graph.nodes { for name in node.resultNames where !outputs.contains(name) { outputs.append(name) } }
        everything.outputs = outputs
        everything.memoryPlan = MemoryPlanner().plan(everything)

        var referenceState = state, candidateState = state.mapValues { $0.copy() }
        let a = try backends.reference.make(everything).run(inputs: feeds, state: &referenceState, step: step)
        let b = try backends.candidate.make(everything).run(inputs: feeds, state: &candidateState, step: step)
        func value(_ name: String, _ run: [String: Tensor]) throws -> Tensor {
            guard let t = run[name] ?? feeds[name] ?? state[name] else { throw Diagnostic("internal: no value '\(name)' after the run") }
            return t
        }

        var checks: [NodeCheck] = []
        for (index, node) in graph.nodes.enumerated() {
            let against = try node.resultNames.map {
                TensorDifference.between(try value($0, a), try value($0, b), name: $0, kind: .value, step: step, tolerance: tolerance)
            }
            for (side, (run, backend)) in [(b, backends.candidate), (a, backends.reference)].enumerated() {
                let operands = try node.operands.map { try value($0, run) }
                let expected = try Self.reference(node, operands, step: step)
                let errors = try zip(node.resultNames, expected).map { name, want in
                    TensorDifference.between(want, try value(name, run), name: name, kind: .value, step: step, tolerance: tolerance)
                }
                // The table follows the candidate; the reference is checked too (a broken reference shows up).
                if side == 0, let own = Self.worst(errors), let carried = Self.worst(against) {
                    checks.append(NodeCheck(node: identity(node, index), ownError: own, carriedError: carried))
                }
                guard errors.contains(where: { !$0.passed }) else { continue }
                var inputs: [TensorDifference] = []
                for name in Set(node.operands).sorted(by: { (node.operands.firstIndex(of: $0) ?? 0) < (node.operands.firstIndex(of: $1) ?? 0) }) {
                    inputs.append(TensorDifference.between(try value(name, a), try value(name, b), name: name, kind: .value, step: step, tolerance: tolerance))
                }
                var divergence = NodeDivergence(node: identity(node, index), backend: backend.name, innerOp: nil, innerError: nil,
                                                inputs: inputs, outputs: errors, outputsAgainstReference: against)
                var note = ""
                if node.region != nil {
                    (divergence.innerOp, divergence.innerError, note) = try innerOp(of: node, operands: operands, backend: backend, step: step)
                }
                return NodeSearch(step: step, nodesChecked: index + 1, divergence: divergence, note: note, checks: checks)
            }
        }
        let note = runFailed ? try explainAgreement(feeds: feeds, state: state, step: step, checks: checks) : ""
        return NodeSearch(step: step, nodesChecked: graph.nodes.count, divergence: nil, note: note, checks: checks)
    }

    /// Every node agrees with its own kernel, yet the comparison failed at this step. Three
    /// causes, told apart in order: small per-node differences compound within the step (some
    /// value of the all-values run is already outside the tolerance); the planned graph, with its
    /// shared and in-place buffers, goes wrong where the all-values copy does not; or this step is
    /// right from identical state and the gap was carried over from earlier steps.
    private func explainAgreement(feeds: [String: Tensor], state: [String: Tensor], step: Int, checks: [NodeCheck]) throws -> String {
        if let first = checks.first(where: { !$0.carriedError.passed }) {
            let line = first.node.location.map { " (line \($0.line))" } ?? ""
            return "every node is within tolerance of its own kernel, but small differences compound within this step: "
                + "\(first.node.name) = \(first.node.op)\(line) is the first value outside it (max abs \(reportNumber(first.carriedError.maxAbsError)), "
                + "own error \(first.ownError.maxULP) ULP); typical of amplification (Adam normalising tiny gradients, cancellation), "
                + "not of a wrong kernel"
        }
        var referenceState = state, candidateState = state.mapValues { $0.copy() }
        let a = try backends.reference.make(graph).run(inputs: feeds, state: &referenceState, step: step)
        let b = try backends.candidate.make(graph).run(inputs: feeds, state: &candidateState, step: step)
        var failing: [String] = []
        for name in graph.outputs {
            if let x = a[name], let y = b[name], !TensorDifference.between(x, y, name: name, kind: .output, tolerance: tolerance).passed {
                failing.append(name)
            }
        }
        for update in graph.updates {
            if let x = referenceState[update.target], let y = candidateState[update.target],
               !TensorDifference.between(x, y, name: update.target, kind: .state, tolerance: tolerance).passed {
                failing.append(update.target)
            }
        }
        if !failing.isEmpty {
            return "every value agrees when all values are kept, but the planned graph run once from the same state does not "
                + "(\(failing.prefix(5).joined(separator: ", "))): suspect the memory plan's shared or in-place buffers"
        }
        return "from the same state this step agrees everywhere, so no kernel is off by more than the tolerance: the gap is rounding "
            + "carried over earlier steps and amplified (max-pool ties, ReLU at 0, Adam normalising tiny gradients); widen --rtol/--atol, "
            + "compare fewer steps, or look for a node whose own ULP error stands out"
    }

    /// The worst of a node's results (a fused kernel may have several).
    static func worst(_ differences: [TensorDifference]) -> TensorDifference? {
        differences.dropFirst().reduce(differences.first) { best, d in best.map { $0.merged(with: d) } }
    }

    private func identity(_ node: Node, _ index: Int) -> NodeIdentity {
        NodeIdentity(name: node.name, op: node.region.map { Printer.kernelName($0) } ?? node.op.name, index: index, location: node.location)
    }

    /// Names the first op of `kernel`'s body that `backend` gets wrong: each op's dependency
    /// cone inside the body becomes a kernel of its own (an op alone stays a plain node), run on
    /// the backend with the kernel's operands, against the interpreter's body values.
    private func innerOp(of kernel: Node, operands: [Tensor], backend: ComparedBackend,
                         step: Int) throws -> (NodeIdentity?, TensorDifference?, String) {
        guard let body = kernel.region else { return (nil, nil, "") }
        let values = try Self.bodyValues(kernel, operands, step: step)
        var operandValue: [String: Tensor] = [:]
        for (name, t) in zip(kernel.operands, operands) { operandValue[name] = t }
        for (position, op) in body.enumerated() {
            var needed: Set<String> = [op.name]
            for earlier in body[...position].reversed() where needed.contains(earlier.name) { needed.formUnion(earlier.operands) }
            let cone = body[...position].filter { needed.contains($0.name) }
            var mini = Graph(name: "cone", sourceFile: graph.sourceFile)
            var feeds: [String: Tensor] = [:]
            for name in kernel.operands where needed.contains(name) && feeds[name] == nil {
                guard let t = operandValue[name] else { continue }
                mini.inputs.append(Input(name: name, type: t.type))
                feeds[name] = t
            }
            mini.nodes = cone.count == 1 ? cone : [Node(name: op.name, op: .fused, operands: mini.inputs.map(\.name), type: op.type,
                                                        location: op.location, region: cone)]
            mini.outputs = [op.name]
            mini.memoryPlan = MemoryPlanner().plan(mini)
            let result: Tensor
            do {
                var none: [String: Tensor] = [:]
                guard let t = try backend.make(mini).run(inputs: feeds, state: &none, step: step)[op.name] else { continue }
                result = t
            } catch {
                return (nil, nil, "could not run '\(op.name)' (\(op.op.name)) alone on the \(backend.name): \(error)")
            }
            guard let want = values[op.name] else { continue }
            let d = TensorDifference.between(want, result, name: op.name, kind: .value, step: step, tolerance: tolerance)
            if !d.passed {
                let name = NodeIdentity(name: op.name, op: op.op.name, index: position, location: op.location)
                return (name, d, "")
            }
        }
        return (nil, nil, "every op of the kernel agrees when run with only the ops it depends on: the error needs the whole kernel")
    }

    /// The interpreter's results of `node` on `operands`: the reference kernel, no test hook.
    static func reference(_ node: Node, _ operands: [Tensor], step: Int) throws -> [Tensor] {
        if node.region != nil {
            let values = try bodyValues(node, operands, step: step)
            return try node.resultNames.map { name in
                guard let t = values[name] else { throw Diagnostic("internal: fused kernel '\(node.name)' defines no '\(name)'") }
                return t
            }
        }
        return [try Interpreter.evaluate(node, operands: operands, step: step)]
    }

    /// Every value of a fused kernel's body, run op by op on the interpreter's kernels.
    static func bodyValues(_ kernel: Node, _ operands: [Tensor], step: Int) throws -> [String: Tensor] {
        var values: [String: Tensor] = [:]
        for (name, t) in zip(kernel.operands, operands) { values[name] = t }
        for node in kernel.region ?? [] {
            let inputs = try node.operands.map { name in
                guard let t = values[name] else { throw Diagnostic("internal: '\(node.name)' reads '\(name)' before it is defined", at: node.location) }
                return t
            }
            values[node.name] = try Interpreter.evaluate(node, operands: inputs, step: step)
        }
        return values
    }
}
