import KilnIR
import KilnRuntime

/// numpy `allclose` tolerances: an element passes when `|candidate − reference| <= atol + rtol·|reference|`.
/// NaN matches NaN and an infinity matches the same infinity (numpy's `equal_nan=True`): two
/// backends that both overflow agree; anything else involving NaN or an infinity fails.
public struct Tolerance: Sendable, Equatable {
    /// Allowed error relative to the reference's magnitude.
    public var rtol: Double
    /// Allowed absolute error, on top of the relative part.
    public var atol: Double

    /// The defaults absorb float32 reassociation (fused multiply-adds, vectorised sums) over a
    /// few training steps; a miscompiled kernel is off by far more.
    public init(rtol: Double = 1e-4, atol: Double = 1e-5) {
        self.rtol = rtol
        self.atol = atol
    }

    /// Throws unless both are finite and non-negative.
    public func validate() throws {
        guard rtol.isFinite, rtol >= 0 else { throw Diagnostic("--rtol must be a finite number >= 0, got \(rtol)") }
        guard atol.isFinite, atol >= 0 else { throw Diagnostic("--atol must be a finite number >= 0, got \(atol)") }
    }
}

/// How far one tensor of the candidate backend is from the reference backend's.
public struct TensorDifference: Sendable, Equatable {
    /// What the tensor is: a graph output, a param or optimiser state after its update, a node value.
    public enum Kind: String, Sendable { case output, param, state, value }

    /// The value's name in the graph, what it is, and its type as printed (both types when they differ).
    public var name: String
    public var kind: Kind
    public var type: String
    /// The step (0-based) at which the worst element was seen.
    public var step: Int
    /// Largest `|candidate − reference|` (infinite when a NaN or infinity is unmatched).
    public var maxAbsError: Double
    /// `|a − b| / |b|` (b the reference); infinite when b is 0 and a is not.
    public var maxRelError: Double
    /// The element furthest outside the tolerance (or with the largest error when all pass),
    /// as a multi-dimensional index, with both values.
    public var worstIndex: [Int]
    public var referenceValue: Double
    public var candidateValue: Double
    /// Largest distance in units in the last place between two finite float32 elements.
    public var maxULP: UInt64
    /// NaN and infinity counts on each side (the most seen at any one step).
    public var referenceNaN: Int
    public var candidateNaN: Int
    public var referenceInf: Int
    public var candidateInf: Int
    /// Elements outside the tolerance (at the worst step).
    public var failing: Int
    /// Elements in the tensor.
    public var elementCount: Int
    /// Every element within the tolerance at every step — or, with `compare(judgeEachStep:)`,
    /// every step within it when both backends start that step from the same state.
    public var passed: Bool
    /// With `compare(judgeEachStep:)`: outside the tolerance only as drift — the backends'
    /// states, already apart by earlier steps' rounding, pull further apart (batch norm, Adam),
    /// while the step computed by the reference from the candidate's own state agrees.
    public var driftOnly = false
    /// With `compare(judgeEachStep:)`: outside the tolerance even within one step from the
    /// same state, but only in single elements (`relativeRMS` within the bound): rounding
    /// tipped a max-pool or ReLU choice, which moves a gradient element by a whole term.
    public var flipsOnly = false
    /// That one-step check's largest |candidate − reference| (worst step), when it ran.
    public var oneStepError: Double? = nil
    /// √(Σ(candidate − reference)² / Σ reference²) over the finite elements (worst step): how
    /// far the tensor as a whole moved, which a few flipped elements barely change.
    public var relativeRMS: Double = 0

    /// Compares `candidate` with `reference` element by element. Mismatched types are one
    /// failing difference with infinite error rather than an error thrown.
    public static func between(_ reference: Tensor, _ candidate: Tensor, name: String, kind: Kind,
                               step: Int = 0, tolerance: Tolerance) -> TensorDifference {
        var d = TensorDifference(name: name, kind: kind, type: "\(reference.type)", step: step, maxAbsError: 0,
                                 maxRelError: 0, worstIndex: [], referenceValue: 0, candidateValue: 0, maxULP: 0,
                                 referenceNaN: 0, candidateNaN: 0, referenceInf: 0, candidateInf: 0, failing: 0,
                                 elementCount: reference.elementCount, passed: true)
        guard reference.type == candidate.type else {
            d.type = "\(reference.type) vs \(candidate.type)"
            d.maxAbsError = .infinity
            d.maxRelError = .infinity
            d.failing = reference.elementCount
            d.passed = false
            return d
        }
        let n = reference.elementCount
        let isFloat = reference.dtype == .f32
        var worstScore = -1.0, worst = 0
        var squaredError = 0.0, squaredReference = 0.0
        for i in 0..<n {
            let b = isFloat ? Double(reference.floatPointer[i]) : Double(reference.intPointer[i])
            let a = isFloat ? Double(candidate.floatPointer[i]) : Double(candidate.intPointer[i])
            if b.isNaN { d.referenceNaN += 1 } else if b.isInfinite { d.referenceInf += 1 }
            if a.isNaN { d.candidateNaN += 1 } else if a.isInfinite { d.candidateInf += 1 }
            let score: Double
            if a.isNaN || b.isNaN || a.isInfinite || b.isInfinite {
                let same = (a.isNaN && b.isNaN) || a == b
                score = same ? 0 : .infinity
                if !same { d.maxAbsError = .infinity; d.maxRelError = .infinity }
            } else {
                let error = Swift.abs(a - b)
                squaredError += error * error
                squaredReference += b * b
                d.maxAbsError = Swift.max(d.maxAbsError, error)
                let relative = b == 0 ? (error == 0 ? 0 : Double.infinity) : error / Swift.abs(b)
                d.maxRelError = Swift.max(d.maxRelError, relative)
                let allowed = tolerance.atol + tolerance.rtol * Swift.abs(b)
                // Excess over the allowance decides the worst element; among passing ones, the error.
                score = error <= allowed ? error / (1 + error) : (allowed == 0 ? Double.infinity : 1 + error / allowed)
                if isFloat {
                    d.maxULP = Swift.max(d.maxULP, ulpDistance(candidate.floatPointer[i], reference.floatPointer[i]))
                } else {
                    d.maxULP = Swift.max(d.maxULP, UInt64(exactly: error) ?? .max)
                }
            }
            if score >= 1 { d.failing += 1 }
            if score > worstScore { worstScore = score; worst = i }
        }
        d.passed = d.failing == 0
        d.relativeRMS = squaredError == 0 ? 0 : (squaredReference == 0 ? .infinity : (squaredError / squaredReference).squareRoot())
        if d.maxAbsError.isInfinite { d.relativeRMS = .infinity }
        if n > 0 {
            d.worstIndex = unravel(worst, reference.shape.dims)
            d.referenceValue = isFloat ? Double(reference.floatPointer[worst]) : Double(reference.intPointer[worst])
            d.candidateValue = isFloat ? Double(candidate.floatPointer[worst]) : Double(candidate.intPointer[worst])
        }
        return d
    }

    /// `self` (the difference between the backends' own runs, after the first step) judged by
    /// `oneStep` (the reference run from the candidate's state before the step, against the
    /// candidate): drift when that one step is within the tolerance.
    func judged(byOneStep oneStep: TensorDifference) -> TensorDifference {
        var d = self
        d.oneStepError = oneStep.maxAbsError
        if !d.passed && oneStep.passed {
            d.passed = true
            d.driftOnly = true
        }
        return d
    }

    /// A param or optimiser state that fails even within one step passes as flips when the
    /// step's outputs (the loss) agree and the tensor as a whole is within `rmsBound`
    /// (`relativeRMS`): rounding tipped max-pool or ReLU choices, or Adam's first steps turned
    /// near-zero gradients into full steps — single elements move far, the tensor little.
    func judgedAsFlips(rmsBound: Double, outputsAgree: Bool) -> TensorDifference {
        var d = self
        if !d.passed && outputsAgree && d.relativeRMS <= rmsBound {
            d.passed = true
            d.flipsOnly = true
        }
        return d
    }

    /// The worse of two comparisons of the same tensor (at different steps): maxima of every
    /// error and count, the worst element and step of whichever fails more.
    public func merged(with other: TensorDifference) -> TensorDifference {
        let otherIsWorse = (other.failing, other.maxAbsError) > (failing, maxAbsError) || (passed && !other.passed)
        var result = otherIsWorse ? other : self
        result.maxAbsError = Swift.max(maxAbsError, other.maxAbsError)
        result.maxRelError = Swift.max(maxRelError, other.maxRelError)
        result.maxULP = Swift.max(maxULP, other.maxULP)
        result.referenceNaN = Swift.max(referenceNaN, other.referenceNaN)
        result.candidateNaN = Swift.max(candidateNaN, other.candidateNaN)
        result.referenceInf = Swift.max(referenceInf, other.referenceInf)
        result.candidateInf = Swift.max(candidateInf, other.candidateInf)
        result.passed = passed && other.passed
        result.driftOnly = result.passed && (driftOnly || other.driftOnly)
        result.flipsOnly = result.passed && (flipsOnly || other.flipsOnly)
        result.oneStepError = [oneStepError, other.oneStepError].compactMap { $0 }.max()
        result.relativeRMS = Swift.max(relativeRMS, other.relativeRMS)
        return result
    }

    /// Float32 values mapped to integers that are ordered like the floats and adjacent for
    /// adjacent floats, so their difference counts the representable values in between.
    static func ulpDistance(_ x: Float, _ y: Float) -> UInt64 {
        func ordered(_ f: Float) -> Int64 {
            let bits = Int64(Int32(bitPattern: f.bitPattern))
            return bits < 0 ? Int64(Int32.min) - bits : bits
        }
        return (ordered(x) - ordered(y)).magnitude
    }

    /// The row-major multi-index of flat position `flat` in `dims`.
    static func unravel(_ flat: Int, _ dims: [Int]) -> [Int] {
        var index = [Int](repeating: 0, count: dims.count)
        var rest = flat
        for axis in dims.indices.reversed() where dims[axis] > 0 {
            index[axis] = rest % dims[axis]
            rest /= dims[axis]
        }
        return index
    }
}
