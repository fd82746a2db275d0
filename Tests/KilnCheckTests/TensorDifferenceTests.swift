import KilnCheck
import KilnIR
import KilnRuntime
import Testing

/// Element-by-element differences: numpy allclose semantics, ULPs, NaN/Inf, the worst element.
struct TensorDifferenceTests {
    static func diff(_ reference: [Float], _ candidate: [Float], dims: [Int]? = nil,
                     _ tolerance: Tolerance = Tolerance(rtol: 1e-3, atol: 1e-6)) -> TensorDifference {
        let shape = Shape(dims ?? [reference.count])
        return TensorDifference.between(Tensor(shape, floats: reference), Tensor(shape, floats: candidate),
                                        name: "t", kind: .output, tolerance: tolerance)
    }

    @Test("identical tensors: zero error, zero ULP, pass")
    func identical() {
        let d = Self.diff([1, -2, 0, 3.5], [1, -2, 0, 3.5])
        #expect(d.maxAbsError == 0 && d.maxRelError == 0 && d.maxULP == 0 && d.failing == 0 && d.passed)
    }

    @Test("allclose boundary: |a − b| <= atol + rtol·|b| passes, just above fails")
    func boundary() {
        let tolerance = Tolerance(rtol: 0.5, atol: 0.25)
        // |b| = 1: allowed 0.75.
        #expect(Self.diff([1], [1.75], tolerance).passed)
        #expect(!Self.diff([1], [1.8], tolerance).passed)
        // rtol scales with the reference, not the candidate.
        #expect(!Self.diff([0], [0.3], tolerance).passed)
        #expect(Self.diff([0.3], [0], tolerance).passed)
    }

    @Test("ULP distance counts representable floats, across zero too")
    func ulps() {
        #expect(Self.diff([1], [Float(1).nextUp], Tolerance(rtol: 0, atol: 0)).maxULP == 1)
        #expect(Self.diff([1], [Float(1).nextUp.nextUp.nextUp]).maxULP == 3)
        #expect(Self.diff([0], [-0.0]).maxULP == 0)
        #expect(Self.diff([Float.leastNonzeroMagnitude], [-Float.leastNonzeroMagnitude]).maxULP == 2)
        #expect(Self.diff([-1], [Float(-1).nextDown]).maxULP == 1)
    }

    @Test("NaN matches NaN and the same infinity; anything else with them fails, and they are counted per side")
    func nonFinite() {
        let same = Self.diff([.nan, .infinity, 1], [.nan, .infinity, 1])
        #expect(same.passed && same.referenceNaN == 1 && same.candidateNaN == 1 && same.referenceInf == 1 && same.candidateInf == 1)
        let different = Self.diff([1, 2, -.infinity], [.nan, 2, .infinity])
        #expect(!different.passed && different.failing == 2 && different.candidateNaN == 1 && different.maxAbsError == .infinity)
        #expect(different.referenceInf == 1 && different.candidateInf == 1)
    }

    @Test("the worst element is the one furthest outside the tolerance, as a multi-dimensional index with both values")
    func worstElement() {
        let d = Self.diff([1, 1, 1, 100, 1, 1], [1, 1, 1.01, 100.05, 1, 1], dims: [2, 3])
        // 100.05 vs 100 is inside rtol 1e-3 (0.1 allowed); 1.01 vs 1 is not (0.001 allowed).
        #expect(d.worstIndex == [0, 2])
        #expect(d.referenceValue == 1 && Swift.abs(d.candidateValue - 1.01) < 1e-6)
        #expect(d.failing == 1 && !d.passed)
        #expect(Swift.abs(d.maxAbsError - 0.05) < 1e-5)
    }

    @Test("int32 tensors: exact difference, relative to the reference")
    func integers() {
        let a = Tensor(Shape([3]), ints: [0, 5, 9]), b = Tensor(Shape([3]), ints: [0, 6, 9])
        let d = TensorDifference.between(a, b, name: "labels", kind: .output, tolerance: Tolerance(rtol: 0, atol: 0))
        #expect(d.maxAbsError == 1 && d.maxULP == 1 && d.worstIndex == [1] && !d.passed)
    }

    @Test("mismatched types fail without trapping")
    func mismatchedTypes() {
        let d = TensorDifference.between(Tensor(Shape([2]), floats: [1, 2]), Tensor(Shape([3]), floats: [1, 2, 3]),
                                         name: "t", kind: .output, tolerance: Tolerance())
        #expect(!d.passed && d.maxAbsError == .infinity)
    }

    @Test("merging steps keeps the maxima and the failing step")
    func merging() {
        var first = Self.diff([1, 2], [1, 2.5])
        first.step = 0
        var second = Self.diff([1, 2], [1.0001, 2])
        second.step = 1
        let merged = second.merged(with: first)
        #expect(!merged.passed && merged.step == 0 && Swift.abs(merged.maxAbsError - 0.5) < 1e-6)
    }

    @Test("tolerances must be finite and non-negative")
    func validation() {
        #expect(throws: Diagnostic.self) { try Tolerance(rtol: -1, atol: 0).validate() }
        #expect(throws: Diagnostic.self) { try Tolerance(rtol: 0, atol: .nan).validate() }
        #expect(throws: Diagnostic.self) { try Tolerance(rtol: .infinity, atol: 0).validate() }
        #expect(throws: Never.self) { try Tolerance(rtol: 0, atol: 0).validate() }
    }
}
