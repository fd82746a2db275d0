import KilnData
import KilnIR
import KilnRuntime
import Testing

struct DatasetTests {
    /// Example i has features [i, i + 0.5] and label i.
    static func numbered(_ n: Int) throws -> Dataset {
        let features: [Float] = (0..<(2 * n)).map { (i: Int) -> Float in Float(i / 2) + (i % 2 == 0 ? 0 : 0.5) }
        let labels: [Int32] = (0..<n).map { (i: Int) -> Int32 in Int32(i) }
        return try Dataset(["x": Tensor([n, 2], floats: features), "labels": Tensor([n], ints: labels)])
    }

    /// Every row's features still belong to its label.
    static func consistent(_ batch: Batch) -> Bool {
        let f = batch.features.floats, l = batch.labels.ints
        return l.indices.allSatisfy { f[2 * $0] == Float(l[$0]) && f[2 * $0 + 1] == Float(l[$0]) + 0.5 }
    }

    @Test("an array holding NaN or infinity is refused, naming the array and the first bad row")
    func nonFinite() throws {
        var pixels = [Float](repeating: 0.5, count: 12)
        pixels[7] = .nan
        #expect(throws: Diagnostic("dataset: array 'images' holds NaN in row 1 (element 7); non-finite values are refused")) {
            try Dataset(["images": Tensor([3, 4], floats: pixels), "labels": Tensor([3], ints: [0, 1, 2])])
        }
        pixels[7] = 0.5
        pixels[11] = -.infinity
        #expect(throws: Diagnostic("data set 'd.npz', test split: dataset: array 'images' holds -infinity in row 2 (element 11); non-finite values are refused")) {
            try DatasetFiles.splits(["images": Tensor([3, 4], floats: [Float](repeating: 0, count: 12)), "images_test": Tensor([3, 4], floats: pixels)], source: "d.npz")
        }
    }

    @Test("shuffling is a seeded permutation, the same on every run")
    func shuffle() {
        let a = Dataset.permutation(1000, seed: 1), b = Dataset.permutation(1000, seed: 1), c = Dataset.permutation(1000, seed: 2)
        #expect(a == b && a != c && a.sorted() == Array(0..<1000))
        #expect(Array(Dataset.permutation(10, seed: 42)) == [0, 7, 6, 4, 2, 5, 1, 8, 9, 3], "pinned: shuffles must not change between versions")
        #expect(Dataset.permutation(0, seed: 1).isEmpty && Dataset.permutation(1, seed: 1) == [0])
    }

    @Test("evaluation batches cover every example exactly once; the tail is padded and counted", arguments: [1, 3, 4, 10, 16])
    func evaluationBatches(_ size: Int) throws {
        let batches = try Self.numbered(10).evaluationBatches(size: size)
        #expect(batches.count == (10 + size - 1) / size)
        #expect(batches.allSatisfy { $0.labels.elementCount == size && $0.features.shape == Shape([size, 2]) && Self.consistent($0) })
        let labels: [Int32] = batches.flatMap { b in b.labels.ints.prefix(b.count) }
        #expect(labels == (0..<10).map { (i: Int) -> Int32 in Int32(i) })
        #expect(batches.map(\.count).reduce(0, +) == 10)
        #expect(batches.dropLast().allSatisfy { $0.count == size })
    }

    @Test("training batches are full and shuffled; a partial last batch sits out the epoch, a tiny data set is repeated",
          arguments: [4, 5, 16])
    func trainingBatches(_ size: Int) throws {
        let data = try Self.numbered(10)
        let batches = data.trainingBatches(size: size, seed: 3)
        #expect(batches.count == Swift.max(1, 10 / size) && batches.allSatisfy { $0.count == size && Self.consistent($0) })
        let seen = batches.flatMap { $0.labels.ints }
        if size <= 10 {
            #expect(Set(seen).count == seen.count && seen.count == 10 / size * size, "no repeats, only the remainder left out")
        } else {
            #expect(Set(seen) == Set((0..<10).map { Int32($0) }), "a data set smaller than a batch is repeated to fill it")
        }
        #expect(seen == data.trainingBatches(size: size, seed: 3).flatMap { $0.labels.ints })
        #expect(seen != data.trainingBatches(size: size, seed: 4).flatMap { $0.labels.ints })
        #expect(data.trainingBatches(size: 0, seed: 3).isEmpty && data.evaluationBatches(size: -1).isEmpty)
    }

    @Test("a validation split partitions the examples; the fraction is clamped")
    func split() throws {
        let data = try Self.numbered(20)
        let (train, validation) = data.split(validationFraction: 0.25, seed: 5)
        #expect(train.count == 15 && validation.count == 5)
        #expect(Set(train.labels.ints + validation.labels.ints).count == 20)
        #expect(data.split(validationFraction: .nan, seed: 5).validation.count == 0)
        #expect(data.split(validationFraction: 7, seed: 5).train.count == 0)
    }

    @Test("k folds: validation parts are disjoint, cover everything and differ in size by at most one", arguments: [2, 3, 7, 20])
    func folds(_ k: Int) throws {
        let data = try Self.numbered(20)
        let folds = try data.folds(k, seed: 5)
        #expect(folds.count == k)
        let validated = folds.flatMap { $0.validation.labels.ints }
        #expect(validated.count == 20 && Set(validated).count == 20)
        let sizes = folds.map(\.validation.count)
        #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= 1)
        for fold in folds {
            #expect(fold.train.count + fold.validation.count == 20)
            #expect(Set(fold.train.labels.ints).isDisjoint(with: fold.validation.labels.ints))
        }
    }

    @Test("bad arguments are diagnostics")
    func errors() throws {
        let data = try Self.numbered(5)
        #expect(throws: Diagnostic("dataset: a k-fold split of 5 examples needs 2 ≤ k ≤ 5, not k = 6")) { try data.folds(6, seed: 0) }
        #expect(throws: Diagnostic("dataset: a k-fold split of 5 examples needs 2 ≤ k ≤ 5, not k = 1")) { try data.folds(1, seed: 0) }
        #expect(throws: Diagnostic("dataset: index 5 is outside the 5 examples")) { try data.subset([0, 5]) }
        #expect(throws: Diagnostic("dataset: array 'x' f32[3, 2] has 3 rows but 'labels' has 2; every array holds one row per example")) {
            try Dataset(["x": Tensor([3, 2], floats: [0, 0, 0, 0, 0, 0]), "labels": Tensor([2], ints: [0, 1])])
        }
        #expect(throws: Diagnostic("dataset: cannot view rows of 'x' [2] as [3]")) { try data.reshaped("x", [3]) }
    }

    @Test("integer features (token ids) keep their dtype through subsets and batches")
    func integerFeatures() throws {
        let data = try Dataset(["x": Tensor([3, 2], ints: [10, 11, 20, 21, 30, 31]), "labels": Tensor([3], ints: [1, 2, 3])])
        let picked = try data.subset([2, 0])
        #expect(picked.features.dtype == .i32 && picked.features.ints == [30, 31, 10, 11] && picked.labels.ints == [3, 1])
        #expect(data.evaluationBatches(size: 2)[1].features.ints == [30, 31, 30, 31])
    }

    @Test("standardisation gives zero mean and unit variance")
    func standardize() throws {
        let data = try Dataset(["x": Tensor([4, 2], floats: [0, 1, 2, 3, 4, 5, 6, 7]), "labels": Tensor([4], ints: [0, 1, 0, 1])])
        let (mean, std) = try #require(data.statistics(of: "x"))
        #expect(mean == 3.5 && Swift.abs(std - Float(5.25).squareRoot()) < 1e-6)
        let s = try data.standardized("x", mean: mean, std: std).features.floats
        let m = s.reduce(0, +) / 8, v = s.reduce(0) { $0 + $1 * $1 } / 8
        #expect(Swift.abs(m) < 1e-6 && Swift.abs(v - 1) < 1e-5)
        #expect(try data.reshaped("x", [1, 2]).features.shape == Shape([4, 1, 2]))
    }
}

/// The arrays these tests build their data sets from (`x` features, `labels`).
extension Dataset {
    var features: Tensor { self["x"] ?? Tensor.scalar(.nan) }
    var labels: Tensor { self["labels"] ?? Tensor.scalar(.nan) }
}

extension Batch {
    var features: Tensor { self["x"] ?? Tensor.scalar(.nan) }
    var labels: Tensor { self["labels"] ?? Tensor.scalar(.nan) }
}
