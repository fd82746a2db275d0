import KilnIR
import KilnPasses
import KilnRuntime

/// Runs `graph` on two backends for `steps` steps from the same initial state and the same
/// inputs, each backend carrying its own state forward, and compares every output and every
/// updated param and optimiser state element by element (worst over the steps). With
/// `findDivergingNode`, also names the first node, in schedule order, that one backend computes
/// wrongly from its own operands (see `NodeSearch`).
///
/// - Parameters:
///   - graph: a typed graph. With `optimize` (and no memory plan yet) it is first run through the
///     JIT's pipeline — simplify, fuse, plan-memory — so both backends run what the JIT compiles.
///   - backends: the reference (usually `.interpreter`) and the candidate.
///   - loss: the scalar output whose curve is reported; defaults to an output named `loss`.
///   - state: the initial params and optimiser state; defaults to the initialisers (seeded by `seed`).
///   - feeds: the inputs of each step; defaults to `ComparisonInputs.random` (seeded by `seed`).
///   - judgeEachStep: from the second step on, also run the reference from the candidate's
///     state before the step, and judge each tensor by that one step: a tensor the backends'
///     own runs carry apart (drift: float32 rounding of earlier steps amplified by batch norm,
///     Adam's division by √v, …) passes when the step itself agrees (`driftOnly`). The first
///     step, from one initial state, is always judged directly, so a wrong op fails there.
///     A param or optimiser state that fails even within one step (or at the first step)
///     passes only when every output of that step (the loss) agrees and its relative RMS
///     difference is within `driftRMS` (`flipsOnly`: max-pool or ReLU choices tipped by
///     rounding, or Adam's near-zero gradients, change single elements by a whole term).
public func compare(graph: Graph, backends: (reference: ComparedBackend, candidate: ComparedBackend),
                    steps: Int = 1, tolerance: Tolerance = Tolerance(), loss: String? = nil,
                    findDivergingNode: Bool = false, judgeEachStep: Bool = false, driftRMS: Double = 0.02, optimize: Bool = true, seed: UInt64 = 0,
                    state: [String: Tensor]? = nil, inputDescription: String? = nil,
                    feeds: ((Int) throws -> [String: Tensor])? = nil) throws -> ComparisonReport {
    guard steps >= 1 else { throw Diagnostic("steps must be at least 1, got \(steps)") }
    guard driftRMS.isFinite, driftRMS >= 0 else { throw Diagnostic("--drift-rms must be a finite number >= 0, got \(driftRMS)") }
    try tolerance.validate()
    var g = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
    if optimize && g.memoryPlan == nil {
        var manager = PassManager(OptimizingPipeline.passes)
        g = try manager.run(g)
    }
    let lossName = loss ?? (g.outputs.contains("loss") ? "loss" : nil)
    if let lossName, !g.outputs.contains(lossName) {
        throw Diagnostic("loss '\(lossName)' is not an output of graph '\(g.name)'")
    }
    let optimised = g
    let feedsOf = feeds ?? { step in ComparisonInputs.random(for: optimised, step: step, seed: seed) }
    let description = inputDescription ?? describeRandomInputs(g, seed: seed)
    let reference = try backends.reference.make(g)
    let candidate = try backends.candidate.make(g)
    let initial = state ?? initialState(for: g, seed: seed)
    for param in g.params where initial[param.name] == nil {
        throw Diagnostic("no initial value for \(param.role.rawValue) '\(param.name)' (expects \(param.type))")
    }
    // The candidate gets its own copies: a backend may recycle buffers of state it replaced.
    var referenceState = initial
    var candidateState = initial.mapValues { $0.copy() }
    // A separate instance: an interpreter may hand out outputs in buffers its next run reuses.
    let rebased = judgeEachStep && steps > 1 ? try backends.reference.make(g) : nil
    let roles = Dictionary(g.params.map { ($0.name, $0.role) }, uniquingKeysWith: { a, _ in a })

    var report = ComparisonReport(graphName: g.name, sourceFile: g.sourceFile, reference: backends.reference.name,
                                  candidate: backends.candidate.name, steps: steps, tolerance: tolerance,
                                  inputDescription: description)
    report.judgedEachStep = judgeEachStep
    report.driftRMS = driftRMS
    var outputs: [String: TensorDifference] = [:], updated: [String: TensorDifference] = [:]
    var lossCurves: ([Double], [Double]) = ([], [])
    var searchAt: (step: Int, feeds: [String: Tensor], state: [String: Tensor])?
    var anyFailed = false
    for step in 0..<steps {
        let stepFeeds = try feedsOf(step)
        let stateBefore = referenceState
        var oneStepState = rebased != nil && step > 0 ? candidateState.mapValues { $0.copy() } : [:]
        let a = try reference.run(inputs: stepFeeds, state: &referenceState, step: step)
        let b = try candidate.run(inputs: stepFeeds, state: &candidateState, step: step)
        let oneStep = step > 0 ? try rebased?.run(inputs: stepFeeds, state: &oneStepState, step: step) : nil
        var stepPassed = true
        for name in g.outputs {
            guard let x = a[name] else { throw Diagnostic("\(backends.reference.name): no output '\(name)'") }
            guard let y = b[name] else { throw Diagnostic("\(backends.candidate.name): no output '\(name)'") }
            var d = TensorDifference.between(x, y, name: name, kind: .output, step: step, tolerance: tolerance)
            if let z = oneStep?[name] {
                d = d.judged(byOneStep: TensorDifference.between(z, y, name: name, kind: .output, step: step, tolerance: tolerance))
            }
            stepPassed = stepPassed && d.passed
            outputs[name] = outputs[name].map { $0.merged(with: d) } ?? d
        }
        let outputsAgree = stepPassed
        for update in g.updates {
            guard let x = referenceState[update.target], let y = candidateState[update.target] else { continue }
            let kind: TensorDifference.Kind = roles[update.target] == .param ? .param : .state
            var d = TensorDifference.between(x, y, name: update.target, kind: kind, step: step, tolerance: tolerance)
            if oneStep != nil, let z = oneStepState[update.target] {
                d = d.judged(byOneStep: TensorDifference.between(z, y, name: update.target, kind: kind, step: step, tolerance: tolerance))
            }
            if judgeEachStep { d = d.judgedAsFlips(rmsBound: driftRMS, outputsAgree: outputsAgree) }
            stepPassed = stepPassed && d.passed
            updated[update.target] = updated[update.target].map { $0.merged(with: d) } ?? d
        }
        if let lossName {
            lossCurves.0.append(Double(a[lossName]?.floats.first ?? .nan))
            lossCurves.1.append(Double(b[lossName]?.floats.first ?? .nan))
        }
        // The search runs on the first failing step, from the reference's state before it.
        if findDivergingNode && (step == 0 || (!stepPassed && !anyFailed)) {
            searchAt = (step, stepFeeds, stateBefore)
        }
        anyFailed = anyFailed || !stepPassed
    }
    report.outputs = g.outputs.compactMap { outputs[$0] }
    report.state = uniqueTargets(g).compactMap { updated[$0] }
    if let lossName { report.loss = LossDrift(name: lossName, reference: lossCurves.0, candidate: lossCurves.1) }
    if let searchAt {
        let search = DivergingNodeSearch(graph: g, backends: backends, tolerance: tolerance)
        report.nodeSearch = try search.run(feeds: searchAt.feeds, state: searchAt.state, step: searchAt.step, runFailed: anyFailed)
    }
    return report
}

private func uniqueTargets(_ g: Graph) -> [String] {
    var seen = Set<String>()
    return g.updates.map(\.target).filter { seen.insert($0).inserted }
}

/// "random (seed 0): floats uniform in [0, 1), labels in [0, 10)".
func describeRandomInputs(_ g: Graph, seed: UInt64) -> String {
    let ranges = ComparisonInputs.classRanges(g)
    let ints = g.inputs.filter { $0.type.dtype == .i32 }.map { "\($0.name) in [0, \(ranges[$0.name] ?? 2))" }
    return "random (seed \(seed)): floats uniform in [0, 1)" + (ints.isEmpty ? "" : ", " + ints.joined(separator: ", "))
}
