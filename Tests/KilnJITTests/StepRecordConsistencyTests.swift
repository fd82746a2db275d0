import Foundation
@testable import KilnJIT
import Testing

/// A step record is used only when it is consistent: every slot inside its table, every call's
/// function defined by it. One that is not (a faulty build, a hand edit that kept the checksum
/// valid) is a miss, not an index out of range in the backend.
@Suite(.serialized)
struct StepRecordConsistencyTests {
    static func record(callSlots: [Int] = [0, 1, 2], scratch: [[Int]] = [[2, 16, 0, 0]], function: String = "f") -> StepRecord {
        StepRecord(slots: ["x": 0, "y": 1, "s": 2], scratch: scratch, failures: [], compiledKernels: 1, sgemmCalls: 0,
                   calls: [StepCall(function: function, slots: callSlots, extent: 4, parallel: false, failureBase: nil)],
                   functions: ["f"], objectKeys: [])
    }

    @Test("slots outside the table, bad scratch and undefined functions make a record inconsistent")
    func consistency() {
        #expect(Self.record().isConsistent)
        #expect(!Self.record(callSlots: [0, 1, 3]).isConsistent)
        #expect(!Self.record(callSlots: [-1]).isConsistent)
        #expect(Self.record(scratch: [[2, 16, 0, 1]]).isConsistent)
        #expect(!Self.record(scratch: [[5, 16, 0, 0]]).isConsistent)
        #expect(!Self.record(scratch: [[2, -1, 0, 0]]).isConsistent)
        #expect(!Self.record(scratch: [[2, 16, -1, 0]]).isConsistent)
        #expect(!Self.record(scratch: [[2, 16, 0, 2]]).isConsistent)
        #expect(!Self.record(scratch: [[2]]).isConsistent)
        // An earlier build's [slot, count] pairs and [slot, count, node] triples (no node to
        // share the region by; no persistence flag): a miss.
        #expect(!Self.record(scratch: [[2, 16]]).isConsistent)
        #expect(!Self.record(scratch: [[2, 16, 0]]).isConsistent)
        #expect(!Self.record(function: "g").isConsistent)
    }

    @Test("an inconsistent record in the cache is not loaded, and nothing is added to the JIT")
    func inconsistentIsAMiss() throws {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory() + "kiln-record-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let session = try JITSession(cacheDirectory: folder)
        let id = UUID().uuidString  // unique keys, so no earlier run's record can answer
        session.storeStep("bad-\(id)-step", Self.record(callSlots: [0, 7]))
        var touched = false
        #expect(session.loadStep("bad-\(id)-step", touchedJIT: &touched) == nil)
        #expect(!touched)
        // A consistent record gets as far as the JIT (its function is then not found: a miss
        // too, after objects were handed over) — so the check is what refused the first.
        session.storeStep("good-\(id)-step", Self.record())
        #expect(session.loadStep("good-\(id)-step", touchedJIT: &touched) == nil)
        #expect(touched)
    }
}
