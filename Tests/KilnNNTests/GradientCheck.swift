import KilnIR
import KilnNN
import KilnPasses
import KilnRuntime
import Testing

/// Finite-difference gradient checks for DSL-built layers, the approach of
/// KilnPassesTests/GradientCheckTests: the layer's output `y` gets a scalar loss `Σ y·r`
/// (r fixed, in [0.5, 1.5)), the symbolic gradient of every param (the layer's and the input
/// `x`, declared as a param so its gradient is checked too) is compared with central
/// differences, h = 1e-2, the loss summed in double precision by the interpreter.
/// Tolerance: |fd − ad| ≤ 1e-3 + 1e-2·|ad|.
///
/// Kinks (relu, max pooling, maxout): when a perturbation crosses one, the difference
/// quotient is not the derivative. An element whose quotient at h disagrees with the symbolic
/// gradient is re-measured at h/4: if that agrees, it passes (curvature); if the two quotients
/// disagree with each other, the loss is not smooth there and the element is skipped. At most a quarter may be skipped.
enum GradientCheck {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The graph `model` describes, with `loss = Σ y·r` appended and made its only output.
    static func lossGraph(_ name: String, _ body: (ModelBuilder) -> Value) throws -> (Graph, [Int]) {
        let m = ModelBuilder(name)
        let y = body(m)
        let dims = y.shape
        let r = m.input("r", .f32, dims)
        let product = mul(y, r)
        let loss = (dims.isEmpty ? product : product.sum(axes: Array(0..<dims.count))).named("loss")
        m.output(loss)
        return (try m.build(), dims)
    }

    /// Checks every param's gradient; returns how many elements were compared.
    @discardableResult
    static func check(_ name: String, inputs: [String: Tensor] = [:], samples: Int = 24,
                      _ body: (ModelBuilder) -> Value) throws -> Int {
        let (forward, dims) = try lossGraph(name, body)
        var feeds = inputs
        let count = dims.reduce(1, *)
        feeds["r"] = Tensor(Shape(dims), floats: (0..<count).map {
            0.5 + KilnRandom.uniform(seed: KilnRandom.hash(name), step: 0, index: UInt64($0))
        })
        let (gradGraph, gradients) = try Differentiation(loss: "loss").differentiate(forward)
        var state = initialState(for: forward, seed: 3)
        let base = state
        let symbolic = try Interpreter(graph: gradGraph).run(inputs: feeds, state: &state, step: 1)
        let evaluate = try Interpreter(graph: forward)

        // Every param must get a gradient: an empty list would compare nothing and pass.
        let missing = Set(forward.trainableParams.map(\.name)).subtracting(gradients.map(\.wrt))
        guard gradients.count > 0, missing.isEmpty else {
            throw Failure(description: "\(name): no gradient for \(missing.sorted().joined(separator: ", "))")
        }
        var compared = 0, skipped = 0
        var failures: [String] = []
        for (param, gradientName) in gradients {
            guard let ad = symbolic[gradientName]?.floats, let original = base[param] else {
                throw Failure(description: "\(name): no gradient for \(param)")
            }
            func loss(_ j: Int, _ delta: Float) throws -> Double {
                var perturbed = base
                let copy = original.copy()
                copy.floatPointer[j] += delta
                perturbed[param] = copy
                guard let value = try evaluate.run(inputs: feeds, state: &perturbed, step: 1)["loss"] else {
                    throw Failure(description: "\(name): no loss")
                }
                return Double(value.floats[0])
            }
            func quotient(_ j: Int, _ h: Float) throws -> Float { Float((try loss(j, h) - loss(j, -h)) / Double(2 * h)) }
            func close(_ a: Float, _ b: Float) -> Bool { Swift.abs(a - b) <= 1e-3 + 1e-2 * Swift.abs(b) }
            let n = original.elementCount
            let stride = Swift.max(1, n / samples)
            for j in Swift.stride(from: 0, to: n, by: stride) {
                compared += 1
                let fd = try quotient(j, 1e-2)
                if close(fd, ad[j]) { continue }
                let fine = try quotient(j, 2.5e-3)
                if close(fine, ad[j]) { continue }       // strong curvature: the finer quotient agrees
                if !close(fine, fd) {                    // the quotients disagree: a kink within h
                    skipped += 1
                    continue
                }
                failures.append("d\(param)[\(j)]: symbolic \(ad[j]) vs finite difference \(fd) (h/4: \(fine))")
            }
        }
        if !failures.isEmpty {
            throw Failure(description: "\(name): " + failures.prefix(5).joined(separator: "; "))
        }
        if compared == 0 {
            throw Failure(description: "\(name): no gradient element was compared")
        }
        if skipped * 4 > compared {
            throw Failure(description: "\(name): \(skipped) of \(compared) elements sit on kinks")
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
