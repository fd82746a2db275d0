import KilnIR
import KilnRuntime

/// The loss of both backends over the steps of a comparison, and their largest gap.
public struct LossDrift: Sendable, Equatable {
    /// The loss output.
    public var name: String
    /// Its value after each step, on each backend.
    public var reference: [Double]
    public var candidate: [Double]

    public init(name: String, reference: [Double], candidate: [Double]) {
        self.name = name
        self.reference = reference
        self.candidate = candidate
    }

    /// The largest `|candidate − reference|` over the steps and the step it occurs at
    /// (infinite where exactly one side is NaN or infinite).
    public var largestGap: (gap: Double, step: Int) {
        var best = (gap: 0.0, step: 0)
        for (i, (a, b)) in zip(candidate, reference).enumerated() {
            let gap = a == b || (a.isNaN && b.isNaN) ? 0 : (a.isFinite && b.isFinite ? Swift.abs(a - b) : .infinity)
            if gap > best.gap { best = (gap, i) }
        }
        return best
    }
}

/// One node's place in a divergence report: what it is and where it came from.
public struct NodeIdentity: Sendable, Equatable {
    /// The value the node defines (a fused kernel's first result).
    public var name: String
    /// The op, or `fused_…` for a fused kernel.
    public var op: String
    /// Its position in the schedule of the optimised graph (0-based).
    public var index: Int
    /// The `.kiln` source position it was written at, when it has one (gradient nodes carry the
    /// forward node's; optimiser nodes have none).
    public var location: SourceLocation?

    public init(name: String, op: String, index: Int, location: SourceLocation?) {
        self.name = name
        self.op = op
        self.index = index
        self.location = location
    }
}

/// The first node, in schedule order, whose result one backend computes wrongly from its own
/// operands: the place to look for a miscompiled kernel.
public struct NodeDivergence: Sendable, Equatable {
    /// The node, in the optimised graph's schedule.
    public var node: NodeIdentity
    /// The backend whose result is wrong (usually the candidate).
    public var backend: String
    /// For a fused kernel, the op inside its body that first goes wrong, when it can be named.
    public var innerOp: NodeIdentity?
    /// The error of that op's result, run as a kernel of its own on the backend.
    public var innerError: TensorDifference?
    /// The node's operands: candidate against reference, as the two full runs computed them.
    public var inputs: [TensorDifference]
    /// Each result: the diverging backend's value against the reference interpreter's kernel
    /// run on that backend's own operands (so errors carried in from earlier nodes cancel out).
    public var outputs: [TensorDifference]
    /// Each result: candidate against reference in the full runs.
    public var outputsAgainstReference: [TensorDifference]

    public init(node: NodeIdentity, backend: String, innerOp: NodeIdentity?, innerError: TensorDifference?,
                inputs: [TensorDifference], outputs: [TensorDifference], outputsAgainstReference: [TensorDifference]) {
        self.node = node
        self.backend = backend
        self.innerOp = innerOp
        self.innerError = innerError
        self.inputs = inputs
        self.outputs = outputs
        self.outputsAgainstReference = outputsAgainstReference
    }
}

/// One node of the per-node search: how far the candidate's result is from the interpreter's
/// kernel on the candidate's own operands (the node's own error), and from the reference's
/// full run (the error it carries, including what flowed in). Worst over the node's results.
public struct NodeCheck: Sendable, Equatable {
    /// The node checked.
    public var node: NodeIdentity
    /// Candidate against the interpreter's kernel on the candidate's operands.
    public var ownError: TensorDifference
    /// Candidate against reference, both full runs.
    public var carriedError: TensorDifference

    public init(node: NodeIdentity, ownError: TensorDifference, carriedError: TensorDifference) {
        self.node = node
        self.ownError = ownError
        self.carriedError = carriedError
    }
}

/// What the per-node search found.
public struct NodeSearch: Sendable, Equatable {
    /// The step (0-based) whose inputs and state the search ran on: the first step where
    /// anything failed, or 0 when nothing did.
    public var step: Int
    /// Nodes of the optimised graph checked (all of them unless one diverged).
    public var nodesChecked: Int
    /// The first diverging node, or nil when every node agrees.
    public var divergence: NodeDivergence?
    /// Why the search could not conclude, or what its result means (empty when nothing to say).
    public var note: String
    /// Every node checked, in schedule order (up to and including a diverging one).
    public var checks: [NodeCheck]

    public init(step: Int, nodesChecked: Int, divergence: NodeDivergence?, note: String, checks: [NodeCheck] = []) {
        self.step = step
        self.nodesChecked = nodesChecked
        self.divergence = divergence
        self.note = note
        self.checks = checks
    }
}

/// The result of `compare(graph:backends:…)`: every output, every param and optimiser state
/// after its update, the loss curve of both backends, and optionally the first diverging node.
public struct ComparisonReport: Sendable, Equatable {
    /// The graph compared and the file it came from.
    public var graphName: String
    public var sourceFile: String
    /// The backends' names: the reference (right-hand side of the tolerance) and the one checked.
    public var reference: String
    public var candidate: String
    /// Steps run on each backend.
    public var steps: Int
    /// The tolerance every element was held to.
    public var tolerance: Tolerance
    /// Where the inputs came from (`random`, `given`, a data set), for the reader.
    public var inputDescription: String
    /// Per output, worst over the steps.
    public var outputs: [TensorDifference]
    /// Per updated param and optimiser state, worst over the steps.
    public var state: [TensorDifference]
    /// Both loss curves, when the graph has a loss output.
    public var loss: LossDrift?
    /// Filled when the per-node search was asked for.
    public var nodeSearch: NodeSearch?

    public init(graphName: String, sourceFile: String, reference: String, candidate: String, steps: Int,
                tolerance: Tolerance, inputDescription: String, outputs: [TensorDifference] = [],
                state: [TensorDifference] = [], loss: LossDrift? = nil, nodeSearch: NodeSearch? = nil) {
        self.graphName = graphName
        self.sourceFile = sourceFile
        self.reference = reference
        self.candidate = candidate
        self.steps = steps
        self.tolerance = tolerance
        self.inputDescription = inputDescription
        self.outputs = outputs
        self.state = state
        self.loss = loss
        self.nodeSearch = nodeSearch
    }

    /// True when every output and state tensor is within the tolerance and no node diverged.
    /// Whether steps after the first were judged from the same state (`compare(judgeEachStep:)`).
    public var judgedEachStep = false
    /// The relative RMS bound of that judgement.
    public var driftRMS = 0.02

    public var passed: Bool {
        outputs.allSatisfy(\.passed) && state.allSatisfy(\.passed) && nodeSearch?.divergence == nil
    }
}
