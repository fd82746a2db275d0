import Foundation
import KilnIR
import KilnNN
import KilnRuntime
import Testing

/// Every case of `Activation`: its values against a Swift reference, its gradient, its shape.
struct ActivationTests {
    static let points: [Float] = [-3, -1.5, -0.3, 0.2, 0.9, 2.5, 7]

    /// What each activation computes on one element (softmax and log-softmax: over the row).
    static func reference(_ a: Activation, _ row: [Float]) -> [Float] {
        func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }
        switch a {
        case .none: return row
        case .relu: return row.map { Swift.max($0, 0) }
        case .tanh: return row.map { Foundation.tanh($0) }
        case .sigmoid: return row.map(sigmoid)
        case .leakyRelu(let alpha): return row.map { $0 > 0 ? $0 : Float(alpha) * $0 }
        case .elu(let alpha): return row.map { $0 > 0 ? $0 : Float(alpha) * (Foundation.exp($0) - 1) }
        case .softmax, .logSoftmax:
            let top = row.max() ?? 0, total = row.map { Foundation.exp($0 - top) }.reduce(0, +)
            return row.map { a == .softmax ? Foundation.exp($0 - top) / total : $0 - top - Foundation.log(total) }
        case .swish: return row.map { $0 * sigmoid($0) }
        case .gelu: return row.map { x in 0.5 * x * (1 + Foundation.tanh((2 / Float.pi).squareRoot() * (x + 0.044715 * x * x * x))) }
        case .geluExact: return row.map { x in Float(0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))) }
        case .selu: return row.map { 1.0507009873554805 * ($0 > 0 ? $0 : 1.6732632423543772 * (Foundation.exp($0) - 1)) }
        case .relu6: return row.map { Swift.min(Swift.max($0, 0), 6) }
        case .softsign: return row.map { $0 / (1 + Swift.abs($0)) }
        case .hardSigmoid: return row.map { Swift.min(Swift.max(0.2 * $0 + 0.5, 0), 1) }
        case .softplus: return row.map { Float(Foundation.log1p(Foundation.exp(Double($0)))) }
        case .mish: return row.map { $0 * Foundation.tanh(Float(Foundation.log1p(Foundation.exp(Double($0))))) }
        }
    }

    @Test("each activation computes what its documentation says", arguments: Activation.allCases)
    func values(_ activation: Activation) throws {
        let m = ModelBuilder("a")
        let x = m.input("x", .f32, [1, Self.points.count])
        let y = activation(x)
        m.output(y)
        #expect(y.shape == [1, Self.points.count])
        let out = try #require(try evaluate(try m.build(), inputs: ["x": Tensor([1, Self.points.count], floats: Self.points)])[y.name]).floats
        for (got, want) in zip(out, Self.reference(activation, Self.points)) {
            #expect(Swift.abs(got - want) <= 1e-5 + 1e-5 * Swift.abs(want), "\(activation): \(got) vs \(want)")
        }
    }

    @Test("each activation's gradient matches finite differences, after a dense layer", arguments: Activation.allCases)
    func gradient(_ activation: Activation) throws {
        try LayerGradient.check("activation \(activation)") { m in Dense(4, activation: activation)(LayerGradient.input(m, [3, 5])) }
    }

    @Test("parameters reach the ops: leaky ReLU's and ELU's alpha")
    func parameters() throws {
        let m = ModelBuilder("p")
        let x = m.input("x", .f32, [2])
        let a = Activation.leakyRelu(0.2)(x), b = Activation.elu(0.5)(x), c = Activation.leakyRelu()(x)
        m.output(a, b, c)
        let graph = try m.build()
        #expect(graph.node(named: a.name)?.attributes["alpha"] == .float(0.2))
        #expect(graph.node(named: b.name)?.attributes["alpha"] == .float(0.5))
        #expect(graph.node(named: c.name)?.attributes["alpha"] == .float(0.01))
        #expect(Activation.none(x).name == "x")
    }
}
