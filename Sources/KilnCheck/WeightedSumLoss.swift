import KilnIR
import KilnPasses
import KilnRuntime

extension GradientCheck {
    /// `graph` with the scalar `loss = Σ value·r` appended and made its only output, and the
    /// weights `r` (a new input, fixed, uniform in [0.5, 1.5) from `seed`). The gradient of that
    /// loss is the vector–Jacobian product of `value` with `r`, so checking it checks every
    /// param's gradient through a value that is not a scalar: an op's result, a layer's output.
    /// Weights away from zero and distinct per element keep every element of `value` in play.
    public static func weightedSum(of value: String, in graph: Graph, seed: UInt64 = 0, loss: String = "loss",
                                   weights: String = "r") throws -> (graph: Graph, weights: Tensor) {
        var g = graph.nodes.contains { $0.type == nil } ? try inferTypes(graph) : graph
        let types = g.valueTypes
        guard let type = types[value] else { throw Diagnostic("graph '\(graph.name)' has no value '\(value)'") }
        guard type.dtype == .f32 else { throw Diagnostic("'\(value)' must be f32 to be differentiated, it is \(type)") }
        let product = loss + "_terms"
        for name in [loss, weights, product] where types[name] != nil {
            throw Diagnostic("graph '\(graph.name)' already has a value '\(name)'")
        }
        g.inputs.append(Input(name: weights, type: TensorType(.f32, type.shape)))
        if type.rank == 0 {
            g.nodes.append(Node(name: loss, op: .mul, operands: [value, weights]))
        } else {
            g.nodes.append(Node(name: product, op: .mul, operands: [value, weights]))
            g.nodes.append(Node(name: loss, op: .reduce_sum, operands: [product],
                                attributes: try OpKind.reduce_sum.normalize([("axes", .ints(Array(0..<type.rank)))], at: nil)))
        }
        g.outputs = [loss]
        let r = Tensor(type.shape, floats: (0..<type.elementCount).map {
            0.5 + KilnRandom.uniform(seed: seed, step: 0, index: UInt64($0))
        })
        return (try inferTypes(g), r)
    }
}
