import KilnIR
import KilnTensor

/// A batch of the graph's static size. The first `count` rows are real examples; any rows
/// after them are padding (copies of the batch's first example) that evaluation must ignore.
public struct Batch: @unchecked Sendable {
    /// One tensor per data-set array, each with the batch's rows.
    public var arrays: [String: Tensor]
    /// How many leading rows are real examples.
    public var count: Int

    public init(arrays: [String: Tensor], count: Int) {
        self.arrays = arrays
        self.count = count
    }

    /// The batch's rows of array `name`.
    public subscript(name: String) -> Tensor? { arrays[name] }
}

/// The batches of one pass over a dataset, each copied out only when it is accessed, so an
/// epoch holds one batch in memory rather than a second copy of the data set.
public struct Batches: RandomAccessCollection, @unchecked Sendable {
    let dataset: Dataset
    /// Example indices, in batch order; its length is a multiple of `size`, or the last batch
    /// is padded.
    let order: [Int]
    public let size: Int

    public var startIndex: Int { 0 }
    public var endIndex: Int { size > 0 ? (order.count + size - 1) / size : 0 }

    public subscript(position: Int) -> Batch {
        let start = position * size, real = Swift.min(size, order.count - start)
        let indices = Array(order[start..<(start + real)]) + [Int](repeating: order[start], count: size - real)
        return Batch(arrays: dataset.arrays.mapValues { Dataset.rows(indices, of: $0) }, count: real)
    }
}

extension Dataset {
    /// Full batches of a seeded shuffle, for training. Every example is trained on once per
    /// epoch: when `size` does not divide the count, the last batch is completed with the first
    /// examples of the same shuffle (they appear twice this epoch; all rows count as real). A
    /// non-positive size gives no batches.
    public func trainingBatches(size: Int, seed: UInt64) -> Batches {
        var order = Self.permutation(count, seed: seed)
        if size > 0, count > 0, count < size {
            // Fewer examples than one batch: repeat them so the data set still trains.
            let shuffled = order
            order += (0..<(size - count)).map { shuffled[$0 % shuffled.count] }
        } else if size > 0, order.count % size != 0 {
            // The partial last batch sits out this epoch only; the next epoch's shuffle puts
            // those examples elsewhere (padding it with repeats would weight them twice).
            order.removeLast(order.count % size)
        }
        return Batches(dataset: self, order: order, size: count > 0 ? size : 0)
    }

    /// Every example exactly once, in order, for evaluation: the final batch is padded and its
    /// `count` says how many of its rows are real, so nothing is dropped from accuracy and
    /// nothing is counted twice. A non-positive size gives no batches.
    public func evaluationBatches(size: Int) -> Batches {
        Batches(dataset: self, order: Array(0..<count), size: size)
    }
}
