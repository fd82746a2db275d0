import Foundation
import KilnIR

/// How the learning rate changes per epoch. The step graph takes the rate as an input, so a
/// schedule only changes what is fed.
public enum LearningRateSchedule: Equatable, Sendable {
    case constant
    /// Multiply by `gamma` every `every` epochs.
    case step(every: Int, gamma: Double)
    /// Cosine decay from the base rate to `minimum` × base over `epochs` epochs.
    case cosine(epochs: Int, minimum: Double)

    /// The rate for `epoch` (counted from 0).
    public func rate(base: Double, epoch: Int) -> Double {
        switch self {
        case .constant: return base
        case .step(let every, let gamma): return base * Foundation.pow(gamma, Double(epoch / Swift.max(every, 1)))
        case .cosine(let epochs, let minimum):
            let progress = Swift.min(1, Double(epoch) / Double(Swift.max(epochs, 1)))
            return base * (minimum + (1 - minimum) * 0.5 * (1 + Foundation.cos(Double.pi * progress)))
        }
    }

    /// Parses `constant`, `step:every=3,gamma=0.5` or `cosine[:min=0.01]` (cosine spans `epochs`).
    public static func parse(_ spec: String, epochs: Int) throws -> LearningRateSchedule {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        var options: [String: Double] = [:]
        if parts.count == 2 {
            for item in parts[1].split(separator: ",") {
                let kv = item.split(separator: "=").map(String.init)
                guard kv.count == 2, let v = Double(kv[1]) else { throw Diagnostic("schedule option '\(item)' is not key=number") }
                options[kv[0]] = v
            }
        }
        switch parts.first ?? "" {
        case "constant": return .constant
        case "step": return .step(every: Int(options["every"] ?? 1), gamma: options["gamma"] ?? 0.5)
        case "cosine": return .cosine(epochs: epochs, minimum: options["min"] ?? 0)
        default: throw Diagnostic("unknown learning-rate schedule '\(spec)' (constant, step:every=N,gamma=G, cosine[:min=F])")
        }
    }
}
