import KilnCheck
import KilnIR
import KilnNN
import KilnPasses
import KilnRuntime
import Testing

/// Finite-difference gradient checks for DSL-built layers, by the project's one checker
/// (`KilnCheck.GradientCheck`, on the interpreter): the layer's output `y` gets the scalar loss
/// `Σ y·r` (`GradientCheck.weightedSum`, r fixed in [0.5, 1.5)), and the symbolic gradient of every
/// param (the layer's and the input `x`, declared as a param so its gradient is checked too) is
/// compared with central differences at `samples` elements spread over it. Tolerance: relative
/// error at most 1e-2, absolute (1e-3) below a gradient of 0.1. Kinks (relu, max pooling,
/// maxout) are the checker's: it keeps the best of three steps, and a kink crossed by the
/// largest is not crossed by the smallest.
enum LayerGradient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Checks every param's gradient; returns how many elements were compared.
    @discardableResult
    static func check(_ name: String, inputs: [String: Tensor] = [:], samples: Int = 24,
                      _ body: (ModelBuilder) -> Value) throws -> Int {
        let m = ModelBuilder(name)
        m.output(body(m))
        let graph = try m.build()
        guard let y = graph.outputs.first else { throw Failure(description: "\(name): the layer has no output") }
        let (forward, r) = try GradientCheck.weightedSum(of: y, in: graph, seed: KilnRandom.hash(name))
        let results = try GradientCheck(loss: "loss", samples: samples, floor: 0.1)
            .run(forward, inputs: inputs.merging(["r": r]) { $1 }, state: initialState(for: forward, seed: 3), step: 1)
        // Every param must get a gradient: an empty list would compare nothing and pass.
        let missing = Set(forward.trainableParams.map(\.name)).subtracting(results.map(\.param))
        guard !results.isEmpty, missing.isEmpty else {
            throw Failure(description: "\(name): no gradient for \(missing.sorted().joined(separator: ", "))")
        }
        let failures = results.filter { !($0.relativeError <= 1e-2) }
        if !failures.isEmpty {
            throw Failure(description: "\(name): " + failures.prefix(5).map(\.summary).joined(separator: "; "))
        }
        let compared = results.map(\.checked).reduce(0, +)
        if compared == 0 {
            throw Failure(description: "\(name): no gradient element was compared")
        }
        return compared
    }

    /// A param `x` with the given dims, uniform in [−1, 1) — the layer input whose gradient is
    /// checked along with the layer's params.
    static func input(_ m: ModelBuilder, _ dims: [Int], name: String = "x") -> Value {
        m.param(name, dims, initializer: .uniform(-1, 1))
    }
}

/// The values of the graph's outputs, run once on the interpreter from its seeded initial state.
func evaluate(_ graph: Graph, inputs: [String: Tensor] = [:], state overrides: [String: Tensor] = [:]) throws -> [String: Tensor] {
    var state = initialState(for: graph, seed: 3).merging(overrides) { $1 }
    return try Interpreter(graph: graph).run(inputs: inputs, state: &state, step: 1)
}
