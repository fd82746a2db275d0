import KilnData
import KilnIR
import KilnRuntime
import Testing

struct DatasetTests {
    static func numbered(_ n: Int) throws -> Dataset {
        try Dataset(features: Tensor([n, 2], floats: (0..<(2 * n)).map { Float($0 / 2) }), labels: Tensor([n], ints: (0..<n).map { Int32($0) }))
    }

    @Test("shuffling is a seeded permutation")
    func shuffle() {
        let a = Dataset.permutation(100, seed: 1), b = Dataset.permutation(100, seed: 1), c = Dataset.permutation(100, seed: 2)
        #expect(a == b && a != c && a.sorted() == Array(0..<100))
    }

    @Test("evaluation batches cover every example once, the tail padded and counted")
    func evaluationBatches() throws {
        let batches = try Self.numbered(10).evaluationBatches(size: 4)
        #expect(batches.map(\.count) == [4, 4, 2])
        let real = batches.flatMap { b in b.labels.ints.prefix(b.count) }
        #expect(real == (0..<10).map { Int32($0) })
        #expect(batches[2].labels.elementCount == 4)
    }

    @Test("training batches are full, shuffled, and features stay with their labels")
    func trainingBatches() throws {
        let batches = try Self.numbered(10).trainingBatches(size: 4, seed: 3)
        #expect(batches.count == 2 && batches.allSatisfy { $0.count == 4 })
        for b in batches { #expect(zip(b.labels.ints, stride(from: 0, to: 8, by: 2).map { b.features.floats[$0] }).allSatisfy { Float($0) == $1 }) }
        #expect(Set(batches.flatMap { $0.labels.ints }).count == 8)
    }

    @Test("validation split and k folds partition the examples")
    func splits() throws {
        let data = try Self.numbered(20)
        let (train, validation) = data.split(validationFraction: 0.25, seed: 5)
        #expect(train.count == 15 && validation.count == 5)
        #expect(Set(train.labels.ints + validation.labels.ints).count == 20)
        let folds = data.folds(4, seed: 5)
        #expect(folds.count == 4 && folds.allSatisfy { $0.train.count == 15 && $0.validation.count == 5 })
        #expect(Set(folds.flatMap { $0.validation.labels.ints }).count == 20)
    }

    @Test("mismatched labels are refused")
    func mismatch() {
        #expect(throws: Diagnostic.self) { try Dataset(features: Tensor([3, 2], floats: [0, 0, 0, 0, 0, 0]), labels: Tensor([2], ints: [0, 1])) }
    }

    @Test("standardisation gives zero mean and unit variance")
    func standardize() throws {
        let data = try Dataset(features: Tensor([4, 2], floats: [0, 1, 2, 3, 4, 5, 6, 7]), labels: Tensor([4], ints: [0, 1, 0, 1]))
        let (mean, std) = data.featureStatistics
        #expect(mean == 3.5 && Swift.abs(std - Float(5.25).squareRoot()) < 1e-6)
        let s = data.standardized(mean: mean, std: std).features.floats
        let m = s.reduce(0, +) / 8, v = s.reduce(0) { $0 + $1 * $1 } / 8
        #expect(Swift.abs(m) < 1e-6 && Swift.abs(v - 1) < 1e-5)
    }
}
