import KilnIR
import KilnTensor

/// Examples as named arrays that share their first axis (one row per example): images and
/// labels, token ids and targets, anything a graph's inputs take. Any dtype the IR has.
public struct Dataset: @unchecked Sendable {
    /// The arrays, by name; every one has `count` rows.
    public private(set) var arrays: [String: Tensor]
    /// The number of examples.
    public let count: Int
    /// Names of the classes that integer labels index, when the data set knows them
    /// (Fashion-MNIST does); reports show them instead of class numbers. Kept by subsets
    /// and splits.
    public var classNames: [String]?

    /// Checks that there is at least one array and that all have the same number of rows.
    public init(_ arrays: [String: Tensor]) throws {
        guard let first = arrays.keys.sorted().first, let rows = arrays[first]?.shape.dims.first else {
            throw Diagnostic("dataset: needs at least one array with a first axis of examples")
        }
        for (name, array) in arrays.sorted(by: { $0.key < $1.key }) {
            guard array.shape.rank >= 1 else { throw Diagnostic("dataset: array '\(name)' is a scalar; every array needs a first axis of examples") }
            guard array.shape[0] == rows else {
                throw Diagnostic("dataset: array '\(name)' \(array.type) has \(array.shape[0]) rows but '\(first)' has \(rows); every array holds one row per example")
            }
            try array.checkFinite("dataset: array '\(name)'")
        }
        self.arrays = arrays
        count = rows
    }

    /// The array names, sorted.
    public var names: [String] { arrays.keys.sorted() }

    /// The array called `name`, if any.
    public subscript(name: String) -> Tensor? { arrays[name] }

    /// The shape of one example's row of array `name`.
    public func exampleShape(_ name: String) -> [Int]? { arrays[name].map { Array($0.shape.dims.dropFirst()) } }

    /// The examples at `indices`, in that order (repeats allowed).
    public func subset(_ indices: [Int]) throws -> Dataset {
        if let bad = indices.first(where: { !(0..<count).contains($0) }) {
            throw Diagnostic("dataset: index \(bad) is outside the \(count) examples")
        }
        return rows(indices)
    }

    /// `subset` for indices known to be in range.
    func rows(_ indices: [Int]) -> Dataset {
        var subset = Dataset(trusted: arrays.mapValues { Self.rows(indices, of: $0) }, count: indices.count)
        subset.classNames = classNames
        return subset
    }

    static func rows(_ indices: [Int], of array: Tensor) -> Tensor {
        let example = Array(array.shape.dims.dropFirst())
        let rowBytes = example.reduce(1, *) * array.dtype.byteSize
        let result = Tensor(uninitialized: TensorType(array.dtype, Shape([indices.count] + example)))
        for (row, index) in indices.enumerated() {
            (result.storage.pointer + row * rowBytes).copyMemory(from: array.storage.pointer + index * rowBytes, byteCount: rowBytes)
        }
        return result
    }

    /// Arrays whose rows are known to agree (made from rows of a checked data set).
    private init(trusted arrays: [String: Tensor], count: Int) {
        self.arrays = arrays
        self.count = count
    }

    /// The same examples with array `name` viewed per example as `exampleShape` (e.g. [784]
    /// as [1, 28, 28]); no copy.
    public func reshaped(_ name: String, _ exampleShape: [Int]) throws -> Dataset {
        guard let array = arrays[name] else { throw Diagnostic("dataset: no array '\(name)' (arrays: \(names.joined(separator: ", ")))") }
        let size = array.shape.dims.dropFirst().reduce(1, *)
        guard exampleShape.allSatisfy({ $0 > 0 }), exampleShape.reduce(1, *) == size else {
            throw Diagnostic("dataset: cannot view rows of '\(name)' \(Shape(Array(array.shape.dims.dropFirst()))) as \(Shape(exampleShape))")
        }
        var result = self
        result.arrays[name] = Tensor(type: TensorType(array.dtype, Shape([count] + exampleShape)), storage: array.storage)
        return result
    }

    /// Mean and standard deviation over every value of f32 array `name` (for
    /// standardisation); computed in double precision. Nil for a missing or integer array.
    public func statistics(of name: String) -> (mean: Float, std: Float)? {
        guard let array = arrays[name], array.dtype == .f32 else { return nil }
        let values = array.floats
        let n = Double(Swift.max(values.count, 1))
        let mean = values.reduce(0.0) { $0 + Double($1) } / n
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return (Float(mean), Float(Swift.max(variance, 1e-24).squareRoot()))
    }

    /// The same examples with every value of f32 array `name` mapped to (v − mean) / std.
    public func standardized(_ name: String, mean: Float, std: Float) throws -> Dataset {
        guard let array = arrays[name], array.dtype == .f32 else {
            throw Diagnostic("dataset: cannot standardise '\(name)': \(arrays[name].map { "it is \($0.type)" } ?? "no such array")")
        }
        let values = array.floats
        let f = Tensor(uninitialized: array.type)
        for i in values.indices { f.floatPointer[i] = (values[i] - mean) / std }
        var result = self
        result.arrays[name] = f
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
