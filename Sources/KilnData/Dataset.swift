import KilnIR
import KilnRuntime

/// Examples as one feature tensor (first axis: examples; f32, or i32 such as token ids) and
/// one int32 label per example.
public struct Dataset: @unchecked Sendable {
    public var features: Tensor
    public var labels: Tensor

    public init(features: Tensor, labels: Tensor) throws {
        guard features.shape.rank >= 1, labels.dtype == .i32, labels.shape == Shape([features.shape[0]]) else {
            throw Diagnostic("dataset: labels \(labels.type) do not match features \(features.type) (one int32 label per example)")
        }
        self.features = features
        self.labels = labels
    }

    public var count: Int { labels.elementCount }
    /// The shape of one example's features.
    public var exampleShape: [Int] { Array(features.shape.dims.dropFirst()) }
    var exampleSize: Int { exampleShape.reduce(1, *) }

    /// The examples at `indices`, in that order (repeats allowed).
    public func subset(_ indices: [Int]) throws -> Dataset {
        if let bad = indices.first(where: { !(0..<count).contains($0) }) {
            throw Diagnostic("dataset: index \(bad) is outside the \(count) examples")
        }
        return rows(indices)
    }

    /// `subset` for indices known to be in range.
    func rows(_ indices: [Int]) -> Dataset {
        let rowBytes = exampleSize * features.dtype.byteSize
        let f = Tensor(uninitialized: TensorType(features.dtype, Shape([indices.count] + exampleShape)))
        let l = Tensor(uninitialized: TensorType(.i32, Shape([indices.count])))
        for (row, index) in indices.enumerated() {
            (f.storage.pointer + row * rowBytes).copyMemory(from: features.storage.pointer + index * rowBytes, byteCount: rowBytes)
            l.intPointer[row] = labels.intPointer[index]
        }
        // Shapes agree by construction, so the checked initialiser is not needed.
        var result = self
        result.features = f
        result.labels = l
        return result
    }

    /// The same examples with features viewed per example as `exampleShape` (e.g. [784] as
    /// [1, 28, 28]); no copy.
    public func reshaped(_ exampleShape: [Int]) throws -> Dataset {
        guard exampleShape.allSatisfy({ $0 > 0 }), exampleShape.reduce(1, *) == exampleSize else {
            throw Diagnostic("dataset: cannot view examples of shape \(Shape(self.exampleShape)) as \(Shape(exampleShape))")
        }
        var result = self
        result.features = Tensor(type: TensorType(features.dtype, Shape([count] + exampleShape)), storage: features.storage)
        return result
    }

    /// Mean and standard deviation over every feature value (for standardisation); computed in
    /// double precision.
    public var featureStatistics: (mean: Float, std: Float) {
        let values = features.floats
        let n = Double(Swift.max(values.count, 1))
        let mean = values.reduce(0.0) { $0 + Double($1) } / n
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return (Float(mean), Float(Swift.max(variance, 1e-24).squareRoot()))
    }

    /// The same examples with every feature value mapped to (v − mean) / std, as f32.
    public func standardized(mean: Float, std: Float) -> Dataset {
        let values = features.floats
        let f = Tensor(uninitialized: TensorType(.f32, features.shape))
        for i in values.indices { f.floatPointer[i] = (values[i] - mean) / std }
        var result = self
        result.features = f
        return result
    }

    /// A seeded permutation of 0..<count (Fisher–Yates over the counter-based RNG): the same
    /// seed gives the same order on every machine.
    public static func permutation(_ count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<Swift.max(count, 0))
        let key = KilnRandom.key(seed: seed, step: 0)
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(KilnRandom.mix(key ^ UInt64(i)) % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return order
    }

    /// Holds out round(count × `fraction`) examples of a seeded shuffle as a validation set;
    /// the rest, in shuffled order, is the training set. The fraction is clamped to [0, 1]
    /// (a NaN fraction holds out nothing).
    public func split(validationFraction fraction: Double, seed: UInt64) -> (train: Dataset, validation: Dataset) {
        let clamped = fraction.isNaN ? 0 : Swift.min(Swift.max(fraction, 0), 1)
        let order = Self.permutation(count, seed: seed)
        let held = Int((Double(count) * clamped).rounded())
        return (rows(Array(order[..<(count - held)])), rows(Array(order[(count - held)...])))
    }

    /// k folds of a seeded shuffle for cross-validation: fold i's validation set is the i-th
    /// of k near-equal parts (sizes differ by at most one) and its training set is the rest, so
    /// every example is validated on exactly once.
    public func folds(_ k: Int, seed: UInt64) throws -> [(train: Dataset, validation: Dataset)] {
        guard k >= 2, k <= count else {
            throw Diagnostic("dataset: a k-fold split of \(count) examples needs 2 ≤ k ≤ \(count), not k = \(k)")
        }
        let order = Self.permutation(count, seed: seed)
        return (0..<k).map { fold in
            let lo = fold * count / k, hi = (fold + 1) * count / k
            return (rows(Array(order[..<lo] + order[hi...])), rows(Array(order[lo..<hi])))
        }
    }
}
