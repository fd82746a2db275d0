import Foundation
import KilnIR

/// A first-order optimiser and its hyper-parameters. Its update is emitted as ordinary
/// elementwise IR (see `TrainingStep`), so fusion can turn each parameter's update into one kernel.
public struct Optimizer: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case sgd, momentum, nesterov, rmsprop, adam, adagrad
    }

    public var kind: Kind
    /// The default learning rate. The step graph takes the rate as its `lr` input, so a
    /// schedule changes it without rebuilding anything.
    public var learningRate: Double
    /// Momentum coefficient (momentum, nesterov), decay ρ (rmsprop) or β1 (adam).
    public var beta1: Double
    /// β2 (adam).
    public var beta2: Double
    public var epsilon: Double
    /// L2 weight decay: `weightDecay · w` is added to each gradient.
    public var weightDecay: Double
    /// L1 penalty: `l1 · sign(w)` is added to each gradient (the subgradient of l1·|w|).
    public var l1: Double = 0
    /// Adagrad's initial accumulator value (Keras and PyTorch use 0.1 and 0; Kiln follows Keras).
    public var initialAccumulator: Double = 0.1

    public init(_ kind: Kind, learningRate: Double? = nil, beta1: Double? = nil, beta2: Double = 0.999,
                epsilon: Double? = nil, weightDecay: Double = 0) {
        self.kind = kind
        self.learningRate = learningRate ?? (kind == .sgd || kind == .momentum || kind == .nesterov || kind == .adagrad ? 0.01 : 0.001)
        self.beta1 = beta1 ?? (kind == .rmsprop || kind == .adam || kind == .momentum || kind == .nesterov ? 0.9 : 0)
        self.beta2 = beta2
        self.epsilon = epsilon ?? (kind == .adam ? 1e-8 : 1e-7)
        self.weightDecay = weightDecay
    }

    /// The option keys `kind` accepts (first the canonical spelling, then aliases).
    public static func keys(for kind: Kind) -> [String] {
        switch kind {
        case .sgd: return ["lr", "weight_decay", "wd", "l1"]
        case .momentum, .nesterov: return ["lr", "momentum", "beta1", "weight_decay", "wd", "l1"]
        case .rmsprop: return ["lr", "rho", "beta1", "eps", "epsilon", "weight_decay", "wd", "l1"]
        case .adam: return ["lr", "beta1", "beta2", "eps", "epsilon", "weight_decay", "wd", "l1"]
        case .adagrad: return ["lr", "eps", "epsilon", "initial_accumulator", "weight_decay", "wd", "l1"]
        }
    }

    /// Parses `adam`, `sgd:lr=0.1`, `momentum:lr=0.05,momentum=0.9,weight_decay=1e-4`, ….
    /// Each kind takes only the keys it uses (`keys(for:)`), so `sgd:momentum=0.5` is an error
    /// rather than silently ignored. Ranges: lr finite and ≥ 0 (0 freezes the params),
    /// momentum/rho/beta1/beta2 in [0, 1), eps finite and > 0, weight_decay, l1 and
    /// initial_accumulator finite and ≥ 0.
    public static func parse(_ spec: String) throws -> Optimizer {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, let kind = Kind(rawValue: first) else {
            throw Diagnostic("unknown optimizer '\(spec)' (expected \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var o = Optimizer(kind)
        guard parts.count == 2 else { return o }
        let accepted = keys(for: kind)
        // Aliases set one field; `lr=1,lr=2` (or `momentum=…,beta1=…`) used to keep the last silently.
        let field = ["momentum": "beta1", "rho": "beta1", "epsilon": "eps", "wd": "weight_decay"]
        var given: Set<String> = []
        for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
            let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let value = Double(kv[1]) else {
                throw Diagnostic("optimizer option '\(item)' is not key=number")
            }
            guard accepted.contains(kv[0]) else {
                throw Diagnostic("\(kind.rawValue) has no option '\(kv[0])' (it takes \(accepted.joined(separator: ", ")))")
            }
            guard given.insert(field[kv[0]] ?? kv[0]).inserted else { throw Diagnostic("optimizer option '\(kv[0])' is given twice (or with an alias)") }
            func check(_ ok: Bool, _ range: String) throws {
                guard ok, value.isFinite else { throw Diagnostic("optimizer option \(kv[0])=\(kv[1]) is out of range: expected \(range)") }
            }
            switch kv[0] {
            case "lr": try check(value >= 0, "a finite number >= 0"); o.learningRate = value
            case "momentum", "beta1", "rho": try check((0..<1).contains(value), "a number in [0, 1)"); o.beta1 = value
            case "beta2": try check((0..<1).contains(value), "a number in [0, 1)"); o.beta2 = value
            case "eps", "epsilon": try check(value > 0, "a finite number > 0"); o.epsilon = value
            case "l1": try check(value >= 0, "a finite number >= 0"); o.l1 = value
            case "initial_accumulator": try check(value >= 0, "a finite number >= 0"); o.initialAccumulator = value
            default: try check(value >= 0, "a finite number >= 0"); o.weightDecay = value
            }
        }
        return o
    }

    public var description: String {
        var items = ["lr=\(formatFloat(learningRate))"]
        switch kind {
        case .sgd: break
        case .momentum, .nesterov: items.append("momentum=\(formatFloat(beta1))")
        case .rmsprop: items.append("rho=\(formatFloat(beta1))"); items.append("eps=\(formatFloat(epsilon))")
        case .adam:
            items += ["beta1=\(formatFloat(beta1))", "beta2=\(formatFloat(beta2))", "eps=\(formatFloat(epsilon))"]
        case .adagrad:
            items += ["eps=\(formatFloat(epsilon))", "initial_accumulator=\(formatFloat(initialAccumulator))"]
        }
        if weightDecay != 0 { items.append("weight_decay=\(formatFloat(weightDecay))") }
        if l1 != 0 { items.append("l1=\(formatFloat(l1))") }
        return "\(kind.rawValue):" + items.joined(separator: ",")
    }
}
