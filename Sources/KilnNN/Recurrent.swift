import KilnIR

/// One step of a recurrent network: a new state from an input [batch, features] and the
/// previous state. A nil state is the zero state; cells then leave out the terms it would
/// zero, so the first step costs no recurrent matmul. Cells create their params at the first
/// step and reuse them on every later one. ``RNN`` unrolls a cell over a sequence.
public protocol RecurrentCell: AnyObject {
    /// What the cell carries from step to step (a hidden vector, or the LSTM's pair).
    associatedtype State
    /// The next state; `site` is the user's call, where errors are reported.
    func step(_ x: Value, _ state: State?, at site: CallSite) -> State
    /// The part of the state that is the cell's output (the hidden vector).
    func output(_ state: State) -> Value
}

extension RecurrentCell {
    /// One step: `cell(x, state: previous)`; omit `state` for the first step.
    public func callAsFunction(_ x: Value, state: State? = nil, file: String = #fileID, line: Int = #line) -> State {
        step(x, state, at: CallSite(file: file, line: line))
    }
}

/// The params every gated cell has: W: [features, gates·hidden] for the input, U:
/// [hidden, gates·hidden] for the state, b: [gates·hidden], the gates side by side.
struct GateParams {
    var binding: LayerBinding
    let names: (weight: String?, recurrent: String?, bias: String?)
    let recurrentInitializer: Initializer
    var weight: Value?, recurrent: Value?, bias: Value?

    /// Binds and declares the params on the first step; false after an error.
    mutating func prepare(_ x: Value, hidden: Int, gates: Int, kind: String, at site: CallSite) -> Bool {
        guard let dims = binding.prepare(x, rank: 2, exactly: true, for: kind, at: site) else { return false }
        if weight == nil {
            weight = binding.param("weight", explicit: names.weight, [dims[1], gates * hidden], .glorotUniform)
            recurrent = binding.param("recurrent_weight", explicit: names.recurrent, [hidden, gates * hidden], recurrentInitializer)
            bias = binding.param("bias", explicit: names.bias, [gates * hidden], .zeros)
        }
        return weight != nil && recurrent != nil && bias != nil
    }

    /// `x·W + h·U + b` (no `h·U` for the zero state), all gates at once.
    func preactivation(_ x: Value, _ h: Value?, at site: CallSite) -> Value {
        guard let weight, let recurrent, let bias else { return x.model.poisoned }
        let (file, line) = (site.file, site.line)
        var z = x.matmul(weight, file: file, line: line)
        if let h { z = add(z, h.matmul(recurrent, file: file, line: line), file: file, line: line) }
        return add(z, bias, file: file, line: line)
    }
}

/// Columns [k·hidden, (k+1)·hidden) of a [batch, gates·hidden] value: gate k.
func gate(_ z: Value, _ k: Int, hidden: Int, at site: CallSite) -> Value {
    let batch = z.shape.first ?? 1
    return z.slice(begin: [0, k * hidden], end: [batch, (k + 1) * hidden], file: site.file, line: site.line)
}

/// The Elman cell: `h' = activation(x·W + h·U + b)`. Params `rnncell1.weight`,
/// `.recurrent_weight`, `.bias` (or `name`d, or given in full).
public final class RNNCell: RecurrentCell {
    /// The state's width.
    public let hidden: Int
    /// Applied to the new state (tanh by default).
    public let activation: Activation
    private var params: GateParams

    /// An Elman cell with a `hidden`-wide state.
    public init(_ hidden: Int, activation: Activation = .tanh, recurrentInitializer: Initializer = .glorotUniform,
                name: String? = nil, weight: String? = nil, recurrentWeight: String? = nil, bias: String? = nil,
                file: String = #fileID, line: Int = #line) {
        self.hidden = hidden
        self.activation = activation
        params = GateParams(binding: LayerBinding(kind: "rnncell", name: name, declared: CallSite(file: file, line: line)),
                            names: (weight, recurrentWeight, bias), recurrentInitializer: recurrentInitializer)
    }

    /// The cell's name prefix, once it has been applied.
    public var name: String? { params.binding.name }

    /// `activation(x·W + h·U + b)`.
    public func step(_ x: Value, _ state: Value?, at site: CallSite) -> Value {
        guard params.prepare(x, hidden: hidden, gates: 1, kind: "RNNCell", at: site) else { return x.model.poisoned }
        return params.binding.within { activation.apply(params.preactivation(x, state, at: site), file: site.file, line: site.line) }
    }

    /// The state itself.
    public func output(_ state: Value) -> Value { state }
}

/// The state an ``LSTMCell`` carries: the output `hidden` and the memory `cell`.
public struct LSTMState {
    /// The hidden (output) vector [batch, hidden].
    public var hidden: Value
    /// The memory cell [batch, hidden].
    public var cell: Value

    /// A state from its two halves (to start from a given state).
    public init(hidden: Value, cell: Value) {
        self.hidden = hidden
        self.cell = cell
    }
}

/// The LSTM cell (gates i, f, g, o side by side, as in PyTorch):
/// `c' = σ(f)·c + σ(i)·tanh(g)`, `h' = σ(o)·tanh(c')`. Params `lstmcell1.weight` [features, 4·hidden],
/// `.recurrent_weight` [hidden, 4·hidden], `.bias` [4·hidden].
public final class LSTMCell: RecurrentCell {
    /// The state's width.
    public let hidden: Int
    private var params: GateParams

    /// An LSTM cell with `hidden`-wide hidden and memory vectors.
    public init(_ hidden: Int, recurrentInitializer: Initializer = .glorotUniform,
                name: String? = nil, weight: String? = nil, recurrentWeight: String? = nil, bias: String? = nil,
                file: String = #fileID, line: Int = #line) {
        self.hidden = hidden
        params = GateParams(binding: LayerBinding(kind: "lstmcell", name: name, declared: CallSite(file: file, line: line)),
                            names: (weight, recurrentWeight, bias), recurrentInitializer: recurrentInitializer)
    }

    /// The cell's name prefix, once it has been applied.
    public var name: String? { params.binding.name }

    /// One LSTM step; from the zero state the forget term vanishes (c' = σ(i)·tanh(g)).
    public func step(_ x: Value, _ state: LSTMState?, at site: CallSite) -> LSTMState {
        guard params.prepare(x, hidden: hidden, gates: 4, kind: "LSTMCell", at: site) else {
            return LSTMState(hidden: x.model.poisoned, cell: x.model.poisoned)
        }
        let (file, line) = (site.file, site.line)
        return params.binding.within {
            let z = params.preactivation(x, state?.hidden, at: site)
            let i = gate(z, 0, hidden: hidden, at: site).sigmoid(file: file, line: line)
            let f = gate(z, 1, hidden: hidden, at: site).sigmoid(file: file, line: line)
            let g = gate(z, 2, hidden: hidden, at: site).tanh(file: file, line: line)
            let o = gate(z, 3, hidden: hidden, at: site).sigmoid(file: file, line: line)
            let candidate = mul(i, g, file: file, line: line)
            let cell = state.map { add(mul(f, $0.cell, file: file, line: line), candidate, file: file, line: line) } ?? candidate
            return LSTMState(hidden: mul(o, cell.tanh(file: file, line: line), file: file, line: line), cell: cell)
        }
    }

    /// The hidden vector.
    public func output(_ state: LSTMState) -> Value { state.hidden }
}

/// The GRU cell (gates r, z, n side by side; the reset gate applied before the recurrent
/// product, as in the original GRU and Keras's default): `r = σ(x·Wr + h·Ur + br)`,
/// `z = σ(x·Wz + h·Uz + bz)`, `n = tanh(x·Wn + (r·h)·Un + bn)`, `h' = (1 − z)·n + z·h`.
/// Params `grucell1.weight` [features, 3·hidden], `.recurrent_weight` [hidden, 3·hidden], `.bias`.
public final class GRUCell: RecurrentCell {
    /// The state's width.
    public let hidden: Int
    private var params: GateParams

    /// A GRU cell with a `hidden`-wide state.
    public init(_ hidden: Int, recurrentInitializer: Initializer = .glorotUniform,
                name: String? = nil, weight: String? = nil, recurrentWeight: String? = nil, bias: String? = nil,
                file: String = #fileID, line: Int = #line) {
        self.hidden = hidden
        params = GateParams(binding: LayerBinding(kind: "grucell", name: name, declared: CallSite(file: file, line: line)),
                            names: (weight, recurrentWeight, bias), recurrentInitializer: recurrentInitializer)
    }

    /// The cell's name prefix, once it has been applied.
    public var name: String? { params.binding.name }

    /// One GRU step; from the zero state, `h' = (1 − z)·tanh(x·Wn + bn)`.
    public func step(_ x: Value, _ state: Value?, at site: CallSite) -> Value {
        guard params.prepare(x, hidden: hidden, gates: 3, kind: "GRUCell", at: site),
              let weight = params.weight, let recurrent = params.recurrent, let bias = params.bias else { return x.model.poisoned }
        let (file, line) = (site.file, site.line), m = x.model
        return params.binding.within {
            let zx = add(x.matmul(weight, file: file, line: line), bias, file: file, line: line)
            var r = gate(zx, 0, hidden: hidden, at: site), z = gate(zx, 1, hidden: hidden, at: site)
            var n = gate(zx, 2, hidden: hidden, at: site)
            if let h = state {
                let ur = recurrent.slice(begin: [0, 0], end: [hidden, 2 * hidden], file: file, line: line)
                let un = recurrent.slice(begin: [0, 2 * hidden], end: [hidden, 3 * hidden], file: file, line: line)
                let zh = h.matmul(ur, file: file, line: line)
                r = add(r, gate(zh, 0, hidden: hidden, at: site), file: file, line: line)
                z = add(z, gate(zh, 1, hidden: hidden, at: site), file: file, line: line)
                let reset = mul(r.sigmoid(file: file, line: line), h, file: file, line: line)
                n = add(n, reset.matmul(un, file: file, line: line), file: file, line: line)
            }
            let update = z.sigmoid(file: file, line: line), candidate = n.tanh(file: file, line: line)
            let kept = mul(sub(m.constant(1, file: file, line: line), update, file: file, line: line), candidate, file: file, line: line)
            return state.map { add(kept, mul(update, $0, file: file, line: line), file: file, line: line) } ?? kept
        }
    }

    /// The state itself.
    public func output(_ state: Value) -> Value { state }
}

/// Unrolls a ``RecurrentCell`` over a static sequence [batch, time, features], one step per
/// time index (the graph holds every step; weights are shared). Returns the last output
/// [batch, hidden], or with `returnSequences` every output [batch, time, hidden].
///
/// ```swift
/// let encoder = RNN(LSTMCell(128))          // params lstmcell1.weight, …
/// let last = encoder(x)                     // x: [batch, 28, 28]
/// ```
public final class RNN<Cell: RecurrentCell>: Layer {
    /// The cell applied at every step.
    public let cell: Cell
    /// Whether to return every step's output rather than the last.
    public let returnSequences: Bool
    /// The state after the latest call's last step (an LSTM's memory, say).
    public private(set) var finalState: Cell.State?

    /// An unroller of `cell`.
    public init(_ cell: Cell, returnSequences: Bool = false) {
        self.cell = cell
        self.returnSequences = returnSequences
    }

    /// Every step from the zero state; see ``unroll(_:from:at:)`` to start elsewhere.
    public func forward(_ x: Value, at site: CallSite) -> Value { unroll(x, from: nil, at: site) }

    /// Every step from `initial` (nil: the zero state).
    public func unroll(_ x: Value, from initial: Cell.State?, at site: CallSite) -> Value {
        guard let dims = x.requireShape(rank: 3, exactly: true, for: "RNN ([batch, time, features])", at: site) else { return x.model.poisoned }
        let (batch, time, features) = (dims[0], dims[1], dims[2]), (file, line) = (site.file, site.line)
        var state = initial
        var outputs: [Value] = []
        for t in 0..<time {
            let input = x.slice(begin: [0, t, 0], end: [batch, t + 1, features], file: file, line: line)
                .reshape([batch, features], file: file, line: line)
            let next = cell.step(input, state, at: site)
            state = next
            if returnSequences {
                let out = cell.output(next)
                outputs.append(out.reshape([batch, 1] + out.shape.dropFirst(), file: file, line: line))
            }
        }
        finalState = state
        guard let state else { return x.model.poisoned }
        if !returnSequences { return cell.output(state) }
        return outputs.count == 1 ? outputs[0] : concat(outputs, axis: 1, file: file, line: line)
    }
}
