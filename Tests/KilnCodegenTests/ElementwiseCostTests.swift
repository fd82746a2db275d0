import KilnIR
import KilnPasses
import Testing
@testable import KilnCodegen

/// A kernel's `work` is its elements times what each costs, read off the ops' one definition:
/// it decides whether the kernel runs on every core.
struct ElementwiseCostTests {
    private func node(_ op: String, arity: Int) throws -> (Node, [DType]) {
        let operands = (0..<arity).map { "x\($0)" }
        let graph = try inferTypes(try Parser.parse("""
            graph g {
            \(operands.map { "  input \($0): f32[4]" }.joined(separator: "\n"))
              y = \(op)(\(operands.joined(separator: ", ")))
              output y
            }
            """))
        return (try #require(graph.nodes.last), [DType](repeating: .f32, count: arity))
    }

    @Test("transcendental ops cost more than arithmetic; every op costs at least one")
    func weights() throws {
        let (add, t2) = try node("add", arity: 2)
        let (sigmoid, t1) = try node("sigmoid", arity: 1)
        let (tanh, _) = try node("tanh", arity: 1)
        #expect(ElementwiseCost.perElement(add, types: t2) == 1)
        #expect(ElementwiseCost.perElement(sigmoid, types: t1) >= 16)
        #expect(ElementwiseCost.perElement(tanh, types: t1) >= 16)
        for op in ["relu", "neg", "abs", "square", "sign"] {
            let (n, t) = try node(op, arity: 1)
            #expect(ElementwiseCost.perElement(n, types: t) >= 1, "\(op)")
        }
    }

    /// 64×128 elements: an LSTM cell's five sigmoids and tanhs are worth both cores, the same
    /// elements added once are not.
    @Test("a kernel of transcendentals runs on every core; the same elements added do not")
    func parallelWhenCostly() throws {
        func scheduled(_ body: String) throws -> String {
            let graph = try Fusion().run(try inferTypes(try Parser.parse("""
                graph g {
                  input a: f32[64, 128]
                  input b: f32[64, 128]
                  \(body)
                  output y
                }
                """)))
            let kernels = try Lowering.lower(graph, target: .avx2)
            return kernels.map { Scheduler.schedule($0, for: .avx2).log.joined(separator: "; ") }.joined(separator: " | ")
        }
        let cell = try scheduled("y = mul(sigmoid(a), tanh(add(mul(sigmoid(b), tanh(a)), sigmoid(neg(b)))))")
        #expect(cell.contains("parallel"), "\(cell)")
        let sum = try scheduled("y = add(a, b)")
        #expect(!sum.contains("parallel"), "\(sum)")
    }
}
