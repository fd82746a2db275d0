import KilnIR
import KilnRuntime

/// Examples as one feature tensor (first axis: examples) and int32 labels.
public struct Dataset: @unchecked Sendable {
    public var features: Tensor
    public var labels: Tensor

    public init(features: Tensor, labels: Tensor) throws {
        guard features.shape.rank >= 1, labels.shape == Shape([features.shape[0]]), labels.dtype == .i32 else {
            throw Diagnostic("dataset: labels \(labels.type) do not match features \(features.type)")
        }
        self.features = features
        self.labels = labels
    }

    public var count: Int { labels.elementCount }
    var exampleShape: [Int] { Array(features.shape.dims.dropFirst()) }
    var exampleSize: Int { exampleShape.reduce(1, *) }

    /// The examples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        let size = exampleSize
        let f = Tensor(zeros: TensorType(.f32, Shape([indices.count] + exampleShape)))
        let l = Tensor(zeros: TensorType(.i32, Shape([indices.count])))
        for (row, index) in indices.enumerated() {
            (f.floatPointer + row * size).update(from: features.floatPointer + index * size, count: size)
            l.intPointer[row] = labels.intPointer[index]
        }
        // The shapes agree by construction.
        return (try? Dataset(features: f, labels: l)) ?? self
    }

    /// The same examples with features reshaped per example (e.g. [784] → [1, 28, 28]).
    public func reshaped(_ exampleShape: [Int]) throws -> Dataset {
        guard exampleShape.reduce(1, *) == exampleSize else {
            throw Diagnostic("dataset: cannot view examples of shape \(self.exampleShape) as \(exampleShape)")
        }
        return try Dataset(features: Tensor(type: TensorType(.f32, Shape([count] + exampleShape)), storage: features.storage), labels: labels)
    }

    /// Mean and standard deviation of every feature value (for standardisation).
    public var featureStatistics: (mean: Float, std: Float) {
        let n = features.elementCount
        var sum = 0.0, squares = 0.0
        for i in 0..<n { let v = Double(features.floatPointer[i]); sum += v; squares += v * v }
        let mean = sum / Double(Swift.max(n, 1))
        return (Float(mean), Float((Swift.max(squares / Double(Swift.max(n, 1)) - mean * mean, 1e-12)).squareRoot()))
    }

    /// The same examples with every feature value mapped to (v − mean) / std.
    public func standardized(mean: Float, std: Float) -> Dataset {
        let f = Tensor(uninitialized: features.type)
        for i in 0..<features.elementCount { f.floatPointer[i] = (features.floatPointer[i] - mean) / std }
        return (try? Dataset(features: f, labels: labels)) ?? self
    }

    /// A seeded permutation of 0..<count (Fisher–Yates over the counter-based RNG).
    public static func permutation(_ count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<count)
        let key = KilnRandom.key(seed: seed, step: 0)
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(KilnRandom.mix(key ^ UInt64(i)) % UInt64(i + 1))
            order.swapAt(i, j)
        }
        return order
    }

    /// Splits off the last `fraction` of a seeded shuffle as a validation set.
    public func split(validationFraction fraction: Double, seed: UInt64) -> (train: Dataset, validation: Dataset) {
        let order = Self.permutation(count, seed: seed)
        let held = Swift.max(0, Swift.min(count, Int((Double(count) * fraction).rounded())))
        return (subset(Array(order[..<(count - held)])), subset(Array(order[(count - held)...])))
    }

    /// k folds of a seeded shuffle: each fold's examples are the validation set once.
    public func folds(_ k: Int, seed: UInt64) -> [(train: Dataset, validation: Dataset)] {
        let order = Self.permutation(count, seed: seed)
        return (0..<k).map { fold in
            let lo = fold * count / k, hi = (fold + 1) * count / k
            return (subset(Array(order[..<lo] + order[hi...])), subset(Array(order[lo..<hi])))
        }
    }
}

/// A batch of the graph's static size. `count` real rows come first; any rest is padding
/// (copies of the first row) that evaluation must ignore.
public struct Batch: @unchecked Sendable {
    public var features: Tensor
    public var labels: Tensor
    public var count: Int

    public init(features: Tensor, labels: Tensor, count: Int) {
        self.features = features
        self.labels = labels
        self.count = count
    }
}

extension Dataset {
    /// Full batches of a seeded shuffle, for training. The last partial batch is left out of
    /// this epoch only; a new seed next epoch puts those examples in other batches.
    public func trainingBatches(size: Int, seed: UInt64) -> [Batch] {
        let order = Self.permutation(count, seed: seed)
        return stride(from: 0, to: count - size + 1, by: size).map { start in
            let part = subset(Array(order[start..<(start + size)]))
            return Batch(features: part.features, labels: part.labels, count: size)
        }
    }

    /// Every example exactly once, in order, for evaluation: the final batch is padded and says
    /// how many of its rows are real, so nothing is dropped from accuracy.
    public func evaluationBatches(size: Int) -> [Batch] {
        stride(from: 0, to: count, by: size).map { start in
            let real = Swift.min(size, count - start)
            let indices = Array(start..<(start + real)) + [Int](repeating: start, count: size - real)
            let part = subset(indices)
            return Batch(features: part.features, labels: part.labels, count: real)
        }
    }
}
