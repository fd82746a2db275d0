import Glibc

/// A register tile's reduction over input channels, cut into blocks whose slices of both
/// operands fit in L1 (BLIS's kc): for one panel of outputs, every tile of filters reduces over
/// a block of channels before the next block, so the panel's input rows for that block are read
/// from L1 by all the tiles instead of streaming from L2 once per tile. Later blocks add to the
/// partial tile in memory (one load and store per accumulator per block). ResNet-18's 14×14 and
/// 7×7 layers read 256 and 512 channels per tile: 35–290 KB of input rows against 48 KB of L1.
struct ChannelBlocks {
    /// Channels per block (the last block may have fewer) and the number of blocks.
    let size: Int
    let count: Int
    var last: Int { channels - (count - 1) * size }
    let channels: Int

    /// Off with `KILN_KBLOCK=off` (side-by-side benchmarks).
    nonisolated(unsafe) static var enabled = getenv("KILN_KBLOCK").map { String(cString: $0) } != "off"

    /// Blocks of about equal size holding at most `l1Bytes` of both operands per block, at
    /// `bytesPerChannel` (input rows and filter taps one tile reads for one channel).
    init(channels: Int, bytesPerChannel: Int, target: CodegenTarget) {
        self.channels = channels
        let most = Self.enabled ? Swift.max(1, target.l1Bytes / Swift.max(1, bytesPerChannel)) : channels
        count = (channels + most - 1) / most
        size = (channels + count - 1) / count
    }

    /// `body(b, first channel, channels, accumulate)` for every block: the first one static and
    /// not accumulating, the middle ones in one loop, the last (possibly shorter) one static.
    func emit(_ b: inout KernelBuilder, _ body: (inout KernelBuilder, Expr, Int, Bool) -> [Stmt]) -> [Stmt] {
        emitMarkingLast(&b) { b, first, count, accumulate, _ in body(&b, first, count, accumulate) }
    }

    /// The same, telling the body which block is the last (`last`: the tile is finished after it).
    func emitMarkingLast(_ b: inout KernelBuilder, _ body: (inout KernelBuilder, Expr, Int, Bool, Bool) -> [Stmt]) -> [Stmt] {
        var stmts = body(&b, .i64(0), count == 1 ? channels : size, false, count == 1)
        guard count > 1 else { return stmts }
        stmts += b.loop(count - 2, .ordered) { b, q in body(&b, q.plus(1).mul(size), size, true, false) }
        return stmts + body(&b, .i64((count - 1) * size), last, true, true)
    }
}
