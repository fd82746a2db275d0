import Foundation
import KilnIR

/// How the learning rate changes over training: per epoch, or per step for the one-cycle
/// policy. The step graph takes the rate as an input, so a schedule only changes what is fed.
public enum LearningRateSchedule: Equatable, Sendable {
    case constant
    /// Multiply by `gamma` every `every` epochs.
    case step(every: Int, gamma: Double)
    /// Cosine decay from the base rate to `minimum` × base over `epochs` epochs.
    case cosine(epochs: Int, minimum: Double)
    /// Multiply by `gamma` every epoch: base · gammaᵉ.
    case exponential(gamma: Double)
    /// Linear warm-up from `start` × base at epoch 0 to the base rate at epoch `epochs`, then
    /// the base rate.
    case warmup(epochs: Int, start: Double)
    /// The one-cycle policy (Smith & Topin; PyTorch's `OneCycleLR` with cosine annealing), per
    /// step over `epochs`: from `start` × base up to the base rate over the first `warmup`
    /// fraction of training, then down to `end` × base, both halves along a cosine.
    case oneCycle(epochs: Int, warmup: Double, start: Double, end: Double)

    /// Whether the rate changes within an epoch (the trainer then sets it before every step).
    public var isPerStep: Bool {
        if case .oneCycle = self { return true }
        return false
    }

    /// The rate for `epoch` (counted from 0) after `progress` (in [0, 1)) of its steps; only
    /// per-step schedules read `progress`.
    public func rate(base: Double, epoch: Int, progress: Double = 0) -> Double {
        switch self {
        case .constant: return base
        case .step(let every, let gamma): return base * Foundation.pow(gamma, Double(epoch / Swift.max(every, 1)))
        case .cosine(let epochs, let minimum):
            let progress = Swift.min(1, Double(epoch) / Double(Swift.max(epochs, 1)))
            return base * (minimum + (1 - minimum) * 0.5 * (1 + Foundation.cos(Double.pi * progress)))
        case .exponential(let gamma): return base * Foundation.pow(gamma, Double(epoch))
        case .warmup(let epochs, let start):
            guard epoch < epochs else { return base }
            return base * (start + (1 - start) * Double(epoch) / Double(Swift.max(epochs, 1)))
        case .oneCycle(let epochs, let warmup, let start, let end):
            let t = Swift.min(1, Swift.max(0, (Double(epoch) + progress) / Double(Swift.max(epochs, 1))))
            if t < warmup {
                return base * (start + (1 - start) * 0.5 * (1 - Foundation.cos(Double.pi * t / warmup)))
            }
            let u = (t - warmup) / (1 - warmup)
            return base * (end + (1 - end) * 0.5 * (1 + Foundation.cos(Double.pi * u)))
        }
    }

    /// Parses `constant`, `step:every=3,gamma=0.5`, `cosine[:min=0.01]` (cosine spans `epochs`),
    /// `exponential[:gamma=0.9]`, `warmup:epochs=N[,start=0.1]` or
    /// `onecycle[:warmup=0.3,start=0.04,end=0.0001]` (over `epochs`, per step).
    /// Ranges: every and warm-up epochs integers in 1...1,000,000, step's gamma finite in
    /// (0, 10], exponential's gamma in (0, 1], min and start in [0, 1] (one-cycle's start in
    /// (0, 1]), one-cycle's warmup in (0, 1) and end in [0, 1]; an unknown key is an error.
    public static func parse(_ spec: String, epochs: Int) throws -> LearningRateSchedule {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let kind = parts.first ?? ""
        let accepted: [String]
        switch kind {
        case "constant": accepted = []
        case "step": accepted = ["every", "gamma"]
        case "cosine": accepted = ["min"]
        case "exponential": accepted = ["gamma"]
        case "warmup": accepted = ["epochs", "start"]
        case "onecycle": accepted = ["warmup", "start", "end"]
        default:
            throw Diagnostic("unknown learning-rate schedule '\(spec)' (constant, step:every=N,gamma=G, cosine[:min=F], exponential[:gamma=G], warmup:epochs=N[,start=F], onecycle[:warmup=F,start=F,end=F])")
        }
        var options: [String: Double] = [:]
        if parts.count == 2 {
            for item in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, let v = Double(kv[1]) else { throw Diagnostic("schedule option '\(item)' is not key=number") }
                guard accepted.contains(kv[0]) else {
                    let takes = accepted.isEmpty ? "it takes none" : "it takes " + accepted.joined(separator: ", ")
                    throw Diagnostic("schedule \(kind) has no option '\(kv[0])' (\(takes))")
                }
                guard options[kv[0]] == nil else { throw Diagnostic("schedule option '\(kv[0])' is given twice") }
                options[kv[0]] = v
            }
        }
        func value(_ key: String, _ fallback: Double, _ ok: (Double) -> Bool, _ range: String) throws -> Double {
            let v = options[key] ?? fallback
            guard v.isFinite, ok(v) else { throw Diagnostic("schedule option \(key)=\(formatFloat(v)) is out of range: expected \(range)") }
            return v
        }
        switch kind {
        case "step":
            let every = try value("every", 1, { $0 >= 1 && $0 <= 1_000_000 && $0.rounded() == $0 }, "an integer in 1...1000000")
            return .step(every: Int(every), gamma: try value("gamma", 0.5, { $0 > 0 && $0 <= 10 }, "a number in (0, 10]"))
        case "cosine":
            return .cosine(epochs: epochs, minimum: try value("min", 0, { (0...1).contains($0) }, "a number in [0, 1]"))
        case "exponential":
            return .exponential(gamma: try value("gamma", 0.9, { $0 > 0 && $0 <= 1 }, "a number in (0, 1]"))
        case "warmup":
            guard options["epochs"] != nil else { throw Diagnostic("schedule warmup needs epochs=N (the warm-up length)") }
            let length = try value("epochs", 1, { $0 >= 1 && $0 <= 1_000_000 && $0.rounded() == $0 }, "an integer in 1...1000000")
            return .warmup(epochs: Int(length), start: try value("start", 0.1, { (0...1).contains($0) }, "a number in [0, 1]"))
        case "onecycle":
            return .oneCycle(epochs: epochs, warmup: try value("warmup", 0.3, { $0 > 0 && $0 < 1 }, "a number in (0, 1)"),
                             start: try value("start", 0.04, { $0 > 0 && $0 <= 1 }, "a number in (0, 1]"),
                             end: try value("end", 0.0001, { (0...1).contains($0) }, "a number in [0, 1]"))
        default:
            return .constant
        }
    }
}
