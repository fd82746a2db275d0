import KilnDistributed
import KilnIR
import Testing

/// Rank 1 of two, where rank 0 holds `root`: a broadcast delivers rank 0's vector; rank 0's
/// contributions to every sum are zeros (it agrees with itself), so a sum is the identity here.
final class SecondRankReducer: Reducer {
    let root: [Double]
    init(root: [Double]) { self.root = root }
    var rank: Int { 1 }
    var size: Int { 2 }
    func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {}
    func allReduceSum(_ values: inout [Double]) throws {}
    func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) throws {}
    func broadcast(_ values: inout [Double], root: Int) throws { values = self.root }
}

/// The fingerprint ranks exchange before their first collective and every epoch (issue 23,
/// item 4); `Tests/Distributed/disagreement.sh` runs the same under mpirun.
struct RunFingerprintTests {
    static func fingerprint(batch: Double, seed: UInt64) -> RunFingerprint {
        RunFingerprint(fields: [
            .init(name: "the batch per rank (--batch)", values: [batch]),
            .init(name: "the seed (--seed)", values: [Double(seed >> 32), Double(seed & 0xFFFF_FFFF)]),
            .init(name: "the graph", values: RunFingerprint.hash("graph g {}"), isHash: true),
        ])
    }

    @Test("the first differing field is found; hashes are stable FNV-1a, not per-process")
    func difference() {
        let a = Self.fingerprint(batch: 32, seed: 1), b = Self.fingerprint(batch: 32, seed: 1 << 40)
        #expect(a.firstDifference(from: a.vector) == nil)
        #expect(a.firstDifference(from: b.vector) == 1)
        #expect(a.firstDifference(from: [32]) == 1, "a shorter vector differs where it ends")
        #expect(RunFingerprint.hash("") == [Double(0xcbf2_9ce4), Double(0x8422_2325)])
        #expect(a.show(1, b.fields[1].values) == "1099511627776")
    }

    @Test("a rank that disagrees with rank 0 throws an error naming the rank, the field and both values")
    func check() throws {
        let root = Self.fingerprint(batch: 32, seed: 7)
        #expect(throws: Diagnostic("ranks disagree at start-up: rank 1 differs from rank 0 in the batch per rank (--batch): rank 0 has 32, rank 1 has 16; every rank must run the same command on the same data")) {
            try Self.fingerprint(batch: 16, seed: 7).check(SecondRankReducer(root: root.vector), when: "at start-up")
        }
        try root.check(SecondRankReducer(root: root.vector), when: "at start-up")
        try RunFingerprint(epoch: 3, steps: 10).check(SingleProcessReducer(), when: "at epoch 3")
        #expect(throws: Diagnostic("ranks disagree at epoch 3: rank 1 differs from rank 0 in the steps this epoch: rank 0 has 10, rank 1 has 12; every rank must run the same command on the same data")) {
            try RunFingerprint(epoch: 3, steps: 12).check(SecondRankReducer(root: RunFingerprint(epoch: 3, steps: 10).vector), when: "at epoch 3")
        }
    }
}
