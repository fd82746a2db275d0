import KilnIR
import KilnTensor

/// A kernel's private buffer (phase planes, packed panels, Winograd transforms): its table slot,
/// its f32 element count, and the graph node whose kernels use it. A node's kernels write their
/// scratch before reading it and nothing outside the node reads it.
struct ScratchBuffer: Sendable {
    var slot: Int
    var count: Int
    var node: Int
    /// Written by invariant calls (`InvariantCalls`): kept beside the others, never shared,
    /// so its contents last from step to step.
    var persistent = false
}

/// Every scratch buffer of a step in one region: a node's buffers lie side by side, and the
/// nodes — which run one after the other — all start at offset 0, so the region is as large as
/// the hungriest node rather than the sum of all of them. With separate buffers, each touched
/// once per step, the caches and the TLB never held them: ONNX ResNet-18's peak resident
/// memory went from 211 to 179 MB at batch 1 and from 671 to 420 MB at batch 8, and its steps
/// took 0.89–0.95 of the time at batch 1 (round-robin, AVX2). The region is filled with NaN once, so a kernel
/// that read scratch it had not written would show it in every test, not only when a
/// neighbour's data happened to be there.
struct ScratchRegion {
    let storage: TensorStorage
    /// Byte offset of each buffer, in the order given.
    let offsets: [Int]

    /// Buffers start on 64-byte lines, so vector loads of one never share a line with another's.
    static let alignment = 64

    init(_ buffers: [ScratchBuffer]) throws {
        func rounded(_ count: Int) throws -> Int {
            let (bytes, o1) = count.multipliedReportingOverflow(by: 4)
            let (padded, o2) = bytes.addingReportingOverflow(Self.alignment - 1)
            guard count >= 0, !o1, !o2 else { throw Diagnostic("scratch buffer of \(count) elements is too large") }
            return padded / Self.alignment * Self.alignment
        }
        var ends: [Int: Int] = [:]
        var starts: [Int] = []
        for buffer in buffers where !buffer.persistent {
            let start = ends[buffer.node, default: 0]
            let (end, overflow) = start.addingReportingOverflow(try rounded(buffer.count))
            guard !overflow else { throw Diagnostic("scratch buffer of \(buffer.count) elements is too large") }
            starts.append(start)
            ends[buffer.node] = end
        }
        // Persistent buffers (`ScratchBuffer.persistent`) follow the shared part, side by side.
        var end = ends.values.max() ?? 0
        var persistentStarts: [Int] = []
        for buffer in buffers where buffer.persistent {
            persistentStarts.append(end)
            let (next, overflow) = end.addingReportingOverflow(try rounded(buffer.count))
            guard !overflow else { throw Diagnostic("scratch buffer of \(buffer.count) elements is too large") }
            end = next
        }
        var shared = starts.makeIterator(), kept = persistentStarts.makeIterator()
        offsets = buffers.map { ($0.persistent ? kept.next() : shared.next()) ?? 0 }
        let size = Swift.max(end, 4)
        storage = TensorStorage(uninitializedByteCount: size)
        storage.pointer.initializeMemory(as: Float.self, repeating: .nan, count: size / 4)
    }
}
