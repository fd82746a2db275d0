import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing

struct InterpreterTests {
    @Test("worked example 1: the matrix product")
    func matrixProduct() throws {
        let out = try runGraph("graph m {\n input a: f32[2, 3]\n input b: f32[3, 2]\n c = matmul(a, b)\n output c\n}",
                               ["a": Tensor([2, 3], floats: [1, 2, 3, 4, 5, 6]), "b": Tensor([3, 2], floats: [10, 11, 20, 21, 30, 31])])
        #expect(out["c"]?.floats == [140, 146, 320, 335])
    }

    @Test("worked example 2: perceptron forward sigmoid(1 + 3·x1 − 2·x2) at (−1, 2)")
    func perceptron() throws {
        let text = try String(contentsOfFile: TestPaths.graphs + "/perceptron.kiln", encoding: .utf8)
        let out = try runGraph(text, ["x": Tensor([1, 2], floats: [-1, 2])],
                               params: ["w": Tensor([2, 1], floats: [3, -2]), "b": Tensor([1], floats: [1])])
        let y = try #require(out["y"]?.floats.first)
        #expect(Swift.abs(y - 0.0024726232) < 1e-7)
        #expect((y * 100000).rounded() / 100000 == 0.00247)
    }

    @Test("a missing input and a mistyped input are errors naming the input and both types")
    func inputErrors() throws {
        let graph = try inferTypes(try Parser.parse("graph g {\n input x: f32[2, 3]\n y = exp(x)\n output y\n}"))
        let interpreter = try Interpreter(graph: graph)
        var state: [String: Tensor] = [:]
        #expect(throws: Diagnostic("missing input 'x' (expects f32[2, 3])")) {
            _ = try interpreter.run(inputs: [:], state: &state, step: 0)
        }
        #expect(throws: Diagnostic("input 'x' expects f32[2, 3], got f32[3, 2]")) {
            _ = try interpreter.run(inputs: ["x": Tensor([3, 2], floats: [1, 2, 3, 4, 5, 6])], state: &state, step: 0)
        }
    }

    @Test("out-of-range labels and gather indices are diagnostics, not crashes")
    func badIndices() throws {
        #expect(throws: Diagnostic.self) {
            _ = try runGraph("graph g {\n input l: f32[2, 3]\n input t: i32[2]\n y = softmax_cross_entropy(l, t)\n output y\n}",
                             ["l": Tensor([2, 3], floats: [0, 0, 0, 0, 0, 0]), "t": Tensor([2], ints: [1, 3])])
        }
        #expect(throws: Diagnostic.self) {
            _ = try runGraph("graph g {\n input t: f32[2, 3]\n input i: i32[1]\n y = gather(t, i)\n output y\n}",
                             ["t": Tensor([2, 3], floats: [0, 0, 0, 0, 0, 0]), "i": Tensor([1], ints: [-1])])
        }
    }

    @Test("intermediates are freed after their last use: peak below the total")
    func peakBytes() throws {
        let graph = try inferTypes(try Parser.parse("""
            graph chain {
              input x: f32[64, 64]
              a = exp(x)
              b = tanh(a)
              c = sigmoid(b)
              d = relu(c)
              output d
            }
            """))
        let interpreter = try Interpreter(graph: graph)
        var state: [String: Tensor] = [:]
        _ = try interpreter.run(inputs: ["x": Tensor(zeros: TensorType(.f32, [64, 64]))], state: &state, step: 0)
        #expect(interpreter.lastStats.peakBytes == 2 * 64 * 64 * 4)
        #expect(interpreter.lastStats.totalIntermediateBytes == 3 * 64 * 64 * 4)
    }

    @Test("random ops depend only on seed, step and index")
    func randomness() throws {
        let text = "graph r {\n input x: f32[1000]\n y = dropout(x, rate=0.25, seed=7)\n z = random_normal(shape=[4000], seed=3)\n output y\n output z\n}"
        let graph = try inferTypes(try Parser.parse(text))
        let ones = Tensor([1000], floats: [Float](repeating: 1, count: 1000))
        var state: [String: Tensor] = [:]
        let a = try Interpreter(graph: graph).run(inputs: ["x": ones], state: &state, step: 1)
        let b = try Interpreter(graph: graph).run(inputs: ["x": ones], state: &state, step: 1)
        let c = try Interpreter(graph: graph).run(inputs: ["x": ones], state: &state, step: 2)
        #expect(a["y"]?.floats == b["y"]?.floats)
        #expect(a["y"]?.floats != c["y"]?.floats)
        let kept = try #require(a["y"]?.floats).filter { $0 != 0 }
        #expect(kept.allSatisfy { Swift.abs($0 - 1 / 0.75) < 1e-6 })
        #expect(Swift.abs(Double(kept.count) / 1000 - 0.75) < 0.05)
        let z = try #require(a["z"]?.floats).map(Double.init)
        let mean = z.reduce(0, +) / Double(z.count)
        let squares: Double = z.reduce(0) { (sum: Double, v: Double) -> Double in sum + (v - mean) * (v - mean) }
        let variance = squares / Double(z.count)
        #expect(Swift.abs(mean) < 0.05 && Swift.abs(variance - 1) < 0.08)
    }

    @Test("initialisers are deterministic, seeded, and scaled by fan-in/fan-out")
    func initialisers() throws {
        let graph = try inferTypes(try Parser.parse(TestPaths.read("mlp.kiln")))
        let a = initialState(for: graph, seed: 1), b = initialState(for: graph, seed: 1), c = initialState(for: graph, seed: 2)
        #expect(a["w1"]?.floats == b["w1"]?.floats)
        #expect(a["w1"]?.floats != c["w1"]?.floats)
        let limit = Float((6.0 / Double(784 + 256)).squareRoot())
        #expect(try #require(a["w1"]?.floats).allSatisfy { Swift.abs($0) <= limit })
        #expect(try #require(a["b1"]?.floats).allSatisfy { $0 == 0 })
    }
}

enum TestPaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let graphs = root + "/Graphs"
    static func read(_ name: String) throws -> String { try String(contentsOfFile: graphs + "/" + name, encoding: .utf8) }
}
