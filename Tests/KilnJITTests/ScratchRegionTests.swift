import Foundation
import KilnIR
@testable import KilnJIT
import Testing

/// All of a step's scratch buffers in one region: a node's side by side on 64-byte lines, every
/// node from offset 0, the region as large as the hungriest node, filled with NaN.
struct ScratchRegionTests {
    @Test("nodes share the region; a node's buffers do not overlap")
    func layout() throws {
        let buffers = [ScratchBuffer(slot: 3, count: 10, node: 0), ScratchBuffer(slot: 4, count: 100, node: 0),
                       ScratchBuffer(slot: 5, count: 1000, node: 2), ScratchBuffer(slot: 6, count: 1, node: 2),
                       ScratchBuffer(slot: 7, count: 50, node: 5)]
        let region = try ScratchRegion(buffers)
        // 10 floats take one 64-byte line, so the second buffer starts at 64.
        #expect(region.offsets == [0, 64, 0, 4032, 0])
        #expect(region.offsets.allSatisfy { $0 % ScratchRegion.alignment == 0 })
        // The largest node: 4000 bytes rounded to 4032, and one line.
        #expect(region.storage.byteCount == 4096)
        let floats = region.storage.pointer.assumingMemoryBound(to: Float.self)
        #expect((0..<1024).allSatisfy { floats[$0].isNaN })
    }

    @Test("no buffers, and sizes that overflow")
    func edges() throws {
        #expect(try ScratchRegion([]).storage.byteCount == 4)
        #expect(throws: Diagnostic.self) { try ScratchRegion([ScratchBuffer(slot: 0, count: Int.max / 2, node: 0)]) }
        #expect(throws: Diagnostic.self) {
            try ScratchRegion([ScratchBuffer(slot: 0, count: Int.max / 8, node: 0), ScratchBuffer(slot: 1, count: Int.max / 8, node: 0)])
        }
    }
}
