import KilnIR

/// Builds passes from their names, for `--passes=` pipelines and golden tests.
/// Options a pass needs (`loss`, `optimizer`) come as key/value pairs.
public enum PassRegistry {
    /// Every pass name, in the order a default pipeline would run them.
    public static let names = ["infer-shapes", "differentiate", "training-step", "simplify", "dce", "fuse", "plan-memory", "eval-mode"]

    public static func make(_ name: String, options: [String: String] = [:]) throws -> any Pass {
        func option(_ key: String) throws -> String {
            guard let value = options[key] else { throw Diagnostic("pass \(name) needs the option '\(key)'") }
            return value
        }
        switch name {
        case "infer-shapes": return ShapeInference()
        case "differentiate":
            let wrt = options["wrt"].map { $0.split(separator: ",").map(String.init) }
            return Differentiation(loss: try option("loss"), wrt: wrt)
        case "training-step":
            return TrainingStep(loss: try option("loss"), optimizer: try Optimizer.parse(options["optimizer"] ?? "sgd"))
        case "simplify": return Simplify()
        case "dce": return DeadCodeElimination()
        case "fuse": return Fusion()
        case "eval-mode": return EvaluationMode()
        case "plan-memory":
            return MemoryPlanner(reuse: options["reuse"] != "false", inPlace: options["in-place"] != "false")
        default:
            throw Diagnostic("unknown pass '\(name)'\(Suggestions.hint(for: name, among: names)) (known: \(names.joined(separator: ", ")))")
        }
    }

    /// Parses a comma-separated pipeline such as `infer-shapes,differentiate`.
    public static func pipeline(_ spec: String, options: [String: String] = [:]) throws -> [any Pass] {
        let names = spec.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw Diagnostic("the pass pipeline '\(spec)' is empty (known passes: \(Self.names.joined(separator: ", ")))") }
        return try names.map { try make($0, options: options) }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
