/// The arithmetic of one `matmul`, shared by the interpreter's kernel and the code generator's
/// lowering so the two cannot disagree about which matrices are multiplied: the product's
/// sizes, the stored row lengths, and for every entry of the (broadcast) batch the element
/// offsets of its left and right matrices.
///
/// Batch axes are every axis but the last two, broadcast like NumPy's `matmul`: an operand with
/// fewer batch axes, or a size-1 batch axis, reuses its matrix along the missing axes.
public struct MatmulGeometry: Sendable, Equatable {
    /// The product is `[batch…, m, n]` with `k` the contracted length.
    public let m: Int, n: Int, k: Int
    /// Row lengths of the stored (untransposed) left and right matrices.
    public let lda: Int, ldb: Int
    /// The result's batch shape (empty for a plain product).
    public let batch: [Int]
    /// Element offset of the left and right matrix of each batch entry, in row-major order.
    public let aOffsets: [Int], bOffsets: [Int]
    /// Whether the right operand is one matrix shared by every batch entry while the left
    /// operand's matrices are contiguous and untransposed: then the whole batch is one
    /// `[batch·m, k] × [k, n]` product.
    public let flattensLeft: Bool

    public var batchCount: Int { aOffsets.count }

    /// `a` and `b` are the operand shapes (rank ≥ 2, already checked by the shape rule).
    public init(a: Shape, b: Shape, transposeA: Bool, transposeB: Bool) {
        let sa = a.dims, sb = b.dims
        let (ar, ac) = (sa[sa.count - 2], sa[sa.count - 1]), (br, bc) = (sb[sb.count - 2], sb[sb.count - 1])
        m = transposeA ? ac : ar
        k = transposeA ? ar : ac
        n = transposeB ? br : bc
        lda = ac
        ldb = bc
        let batchA = Array(sa.dropLast(2)), batchB = Array(sb.dropLast(2))
        let rank = Swift.max(batchA.count, batchB.count)
        func padded(_ dims: [Int]) -> [Int] { [Int](repeating: 1, count: rank - dims.count) + dims }
        let pa = padded(batchA), pb = padded(batchB)
        let batch = zip(pa, pb).map { Swift.max($0, $1) }
        self.batch = batch
        /// Strides of an operand's matrices along the result's batch axes; 0 where it broadcasts.
        func strides(_ dims: [Int], matrix: Int) -> [Int] {
            var result = [Int](repeating: 0, count: rank)
            var step = matrix
            for axis in (0..<rank).reversed() {
                result[axis] = dims[axis] == 1 ? 0 : step
                step *= dims[axis]
            }
            return result
        }
        let stridesA = strides(pa, matrix: ar * ac), stridesB = strides(pb, matrix: br * bc)
        var aOffsets: [Int] = [], bOffsets: [Int] = []
        let count = batch.reduce(1, *)
        aOffsets.reserveCapacity(count)
        bOffsets.reserveCapacity(count)
        var index = [Int](repeating: 0, count: rank)
        for _ in 0..<count {
            aOffsets.append(zip(index, stridesA).reduce(0) { $0 + $1.0 * $1.1 })
            bOffsets.append(zip(index, stridesB).reduce(0) { $0 + $1.0 * $1.1 })
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < batch[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        self.aOffsets = aOffsets
        self.bOffsets = bOffsets
        let contiguousA = aOffsets.enumerated().allSatisfy { $0.element == $0.offset * ar * ac }
        flattensLeft = count > 1 && !transposeA && contiguousA && bOffsets.allSatisfy { $0 == 0 }
    }
}
