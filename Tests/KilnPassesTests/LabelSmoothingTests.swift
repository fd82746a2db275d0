import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// `LabelSmoothing` (`kiln train --label-smoothing F`): the rewritten loss and its gradient
/// against the cross-entropy with smoothed targets computed here in double precision.
struct LabelSmoothingTests {
    static let text = """
        graph classifier {
          input  labels: i32[4]
          param  z: f32[4, 5] = normal:std=2
          loss = softmax_cross_entropy(z, labels)
          output loss as loss
          output z as logits
        }
        """
    static let labels: [Int32] = [0, 3, 4, 3]
    static let logits: [Float] = (0..<20).map { Float(($0 * 7) % 11) * 0.37 - 1.5 }

    /// log p for every row, in double precision.
    static func logProbabilities() -> [[Double]] {
        (0..<4).map { r in
            let row = (0..<5).map { Double(logits[r * 5 + $0]) }
            let m = row.max() ?? 0
            let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
            return row.map { $0 - lse }
        }
    }

    func run(_ graph: Graph, _ epsilon: Double) throws -> [String: Tensor] {
        var state: [String: Tensor] = ["z": Tensor(Shape([4, 5]), floats: Self.logits)]
        return try Interpreter(graph: graph).run(inputs: ["labels": Tensor(Shape([4]), ints: Self.labels)], state: &state, step: 0)
    }

    @Test("the smoothed loss is the cross-entropy against (1 − ε)·onehot + ε/K", arguments: [0.1, 0.3, 0.9])
    func loss(_ epsilon: Double) throws {
        let graph = try LabelSmoothing(epsilon: epsilon, loss: "loss").run(try Parser.parse(Self.text))
        let value = Double(try #require(try run(graph, epsilon)["loss"]).floats[0])
        var expected = 0.0
        for (r, row) in Self.logProbabilities().enumerated() {
            for (c, lp) in row.enumerated() {
                let target = (c == Int(Self.labels[r]) ? 1 - epsilon : 0) + epsilon / 5
                expected -= target * lp / 4
            }
        }
        #expect(abs(value - expected) <= 1e-5 * abs(expected), "ε \(epsilon): \(value) against \(expected)")
        // The loss keeps its name and role; the logits output is untouched.
        #expect(graph.output(withRole: .loss) == "loss" && graph.output(withRole: .logits) == "z")
    }

    @Test("its gradient with respect to the logits is (softmax − smoothed target) / N")
    func gradient() throws {
        let epsilon = 0.2
        let graph = try LabelSmoothing(epsilon: epsilon, loss: "loss").run(try Parser.parse(Self.text))
        let (withGradient, gradients) = try Differentiation(loss: "loss").differentiate(graph)
        let name = try #require(gradients.first { $0.wrt == "z" }?.gradient)
        let d = try #require(try run(withGradient, epsilon)[name]).floats
        for (r, row) in Self.logProbabilities().enumerated() {
            for (c, lp) in row.enumerated() {
                let target = (c == Int(Self.labels[r]) ? 1 - epsilon : 0) + epsilon / 5
                let expected = (Foundation.exp(lp) - target) / 4
                #expect(abs(Double(d[r * 5 + c]) - expected) <= 1e-6, "[\(r), \(c)]: \(d[r * 5 + c]) against \(expected)")
            }
        }
    }

    @Test("ε = 0 leaves the graph as it is")
    func zero() throws {
        let graph = try inferTypes(try Parser.parse(Self.text))
        #expect(try LabelSmoothing(epsilon: 0, loss: "loss").run(graph) == graph)
    }

    @Test("out-of-range ε, a missing loss and a loss that is not softmax cross-entropy are errors", arguments: [
        (1.0, "loss", "label smoothing must be in [0, 1), got 1.0"),
        (-0.1, "loss", "label smoothing must be in [0, 1), got -0.1"),
        (Double.nan, "loss", "label smoothing must be in [0, 1), got nan"),
        (0.1, "nope", "label smoothing: the loss 'nope' is not computed by a node of graph 'regression'"),
        (0.1, "loss", "label smoothing needs a classifier: the loss 'loss' is mse, not softmax_cross_entropy(logits, labels)"),
    ])
    func refusals(_ epsilon: Double, _ loss: String, _ message: String) throws {
        let regression = try Parser.parse("""
            graph regression {
              input  x: f32[4, 5]
              param  p: f32[4, 5] = zeros
              loss = mse(p, x)
              output loss as loss
            }
            """)
        let graph = epsilon.isFinite && (0..<1).contains(epsilon) ? regression : try Parser.parse(Self.text)
        #expect(throws: Diagnostic.self) { try LabelSmoothing(epsilon: epsilon, loss: loss).run(graph) }
        do { _ = try LabelSmoothing(epsilon: epsilon, loss: loss).run(graph) } catch let d as Diagnostic {
            #expect(d.message == message)
        }
    }
}
