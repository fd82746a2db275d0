import Foundation
import KilnCheck
import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// Seeded inputs that look like real data.
struct ComparisonInputsTests {
    @Test("realistic inputs: labels span every class the logits imply, floats in [0, 1), fresh per step")
    func inputs() throws {
        let g = try CompareSupport.graph("mlp.kiln")
        #expect(ComparisonInputs.classRanges(g) == ["labels": 10])
        let step0 = ComparisonInputs.random(for: g, step: 0), step1 = ComparisonInputs.random(for: g, step: 1)
        let labels = try #require(step0["labels"]).ints
        #expect(Set(labels) == Set(0..<10))
        let x = try #require(step0["x"]).floats
        #expect(x.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(step1["x"]?.floats != x)
        #expect(ComparisonInputs.random(for: g, step: 0)["x"]?.floats == x)
    }

    @Test("class ranges come from one_hot depths and gather table rows; lr gets the learning rate")
    func otherUses() throws {
        let text = """
            graph g {
              input idx: i32[64]
              input cls: i32[64]
              input lr: f32[]
              param table: f32[5, 3] = zeros
              e = gather(table, idx)
              o = one_hot(cls, depth=7)
              output e
              output o
            }
            """
        let g = try inferTypes(try Parser.parse(text))
        #expect(ComparisonInputs.classRanges(g) == ["idx": 5, "cls": 7])
        let feeds = ComparisonInputs.random(for: g, step: 3, learningRate: 0.25)
        #expect(Set(try #require(feeds["idx"]).ints) == Set(0..<5))
        #expect(Set(try #require(feeds["cls"]).ints) == Set(0..<7))
        #expect(feeds["lr"]?.floats == [0.25])
    }

    @Test("gradient helpers bound their indices too: softmax_cross_entropy_grad by the logits, gather_grad by rows")
    func gradientHelpers() throws {
        let text = """
            graph g {
              input labels: i32[8]
              input idx: i32[16]
              param logits: f32[8, 6] = zeros
              param dy: f32[16, 3] = zeros
              one = constant(value=1.0, shape=[])
              d = softmax_cross_entropy_grad(logits, labels, one)
              s = gather_grad(dy, idx, rows=9)
              output d
              output s
            }
            """
        let g = try inferTypes(try Parser.parse(text))
        #expect(ComparisonInputs.classRanges(g) == ["labels": 6, "idx": 9])
    }
}
