import Foundation
import KilnIR

/// A first-order optimiser and its hyper-parameters. Its update is emitted as ordinary
/// elementwise IR (see `TrainingStep`), so fusion can turn each parameter's update into one kernel.
public struct Optimizer: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case sgd, momentum, nesterov, rmsprop, adam
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

    public init(_ kind: Kind, learningRate: Double? = nil, beta1: Double? = nil, beta2: Double = 0.999,
                epsilon: Double? = nil, weightDecay: Double = 0) {
        self.kind = kind
        self.learningRate = learningRate ?? (kind == .sgd || kind == .momentum || kind == .nesterov ? 0.01 : 0.001)
        self.beta1 = beta1 ?? (kind == .rmsprop || kind == .adam || kind == .momentum || kind == .nesterov ? 0.9 : 0)
        self.beta2 = beta2
        self.epsilon = epsilon ?? (kind == .adam ? 1e-8 : 1e-7)
        self.weightDecay = weightDecay
    }

    /// Parses `adam`, `sgd:lr=0.1`, `momentum:lr=0.05,momentum=0.9,weight_decay=1e-4`, ….
    /// Keys: lr, momentum (alias beta1, rho), beta1, beta2, eps, weight_decay.
    public static func parse(_ spec: String) throws -> Optimizer {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard let first = parts.first, let kind = Kind(rawValue: first) else {
            throw Diagnostic("unknown optimizer '\(spec)' (expected \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var o = Optimizer(kind)
        guard parts.count == 2 else { return o }
        for item in parts[1].split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let value = Double(kv[1]) else {
                throw Diagnostic("optimizer option '\(item)' is not key=number")
            }
            switch kv[0] {
            case "lr": o.learningRate = value
            case "momentum", "beta1", "rho": o.beta1 = value
            case "beta2": o.beta2 = value
            case "eps", "epsilon": o.epsilon = value
            case "weight_decay", "wd": o.weightDecay = value
            default: throw Diagnostic("unknown optimizer option '\(kv[0])' (expected lr, momentum, beta1, beta2, eps, weight_decay)")
            }
        }
        guard o.learningRate > 0 else { throw Diagnostic("learning rate must be positive, got \(formatFloat(o.learningRate))") }
        guard (0..<1).contains(o.beta1), (0..<1).contains(o.beta2) else {
            throw Diagnostic("momentum/beta values must be in [0, 1)")
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
        }
        if weightDecay != 0 { items.append("weight_decay=\(formatFloat(weightDecay))") }
        return "\(kind.rawValue):" + items.joined(separator: ",")
    }
}
