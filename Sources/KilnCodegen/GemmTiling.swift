/// How a generated GEMM splits C = A·B (m×k times k×n): into `mr`×`nr` register tiles (`mr`
/// rows of `nr / lanes` vector accumulators), grouped into work units of `tilesPerBlock` row
/// tiles by `panelsPerBlock` column panels. B is packed into zero-padded `nr`-wide panels, so
/// a micro-kernel reads it contiguously; A is read in place (each row a contiguous stream).
/// Like XLA's tiled dot emitter, the tiling is data: printed in kernel names, chosen per
/// target by `choose`, and a test can force any legal one.
public struct GemmTiling: Hashable, Sendable, CustomStringConvertible {
    public var mr: Int
    public var nr: Int
    public var lanes: Int
    public var tilesPerBlock: Int
    public var panelsPerBlock: Int

    public init(mr: Int, nr: Int, lanes: Int, tilesPerBlock: Int, panelsPerBlock: Int) {
        self.mr = mr
        self.nr = nr
        self.lanes = lanes
        self.tilesPerBlock = tilesPerBlock
        self.panelsPerBlock = panelsPerBlock
    }

    public var description: String { "\(mr)x\(nr)" }

    /// Accumulators a register tile keeps at least, where the register file allows: two FMA
    /// ports of four cycles' latency need eight independent chains, and a few more hide loads.
    public static let minimumAccumulators = 12

    /// Row tiles a packed B panel must serve before packing B pays, when B's rows can be read
    /// in place. Packing is a pass over all of B on every call; measured on an AVX2 Zen 3 (1 MB
    /// L2), reading 784×256 in place took 0.5–0.6 of the packed product's time at 32 rows
    /// (6 tiles) and 0.7–0.9 at 64, and no longer at 128 (22 tiles); 1024³ (171 tiles) packs.
    public static let packingReuse = 22

    /// Vectors per tile row.
    public var vectorsPerRow: Int { nr / lanes }

    /// The problem fits this tiling: whole vectors per panel, a lane width the target has.
    public var isLegal: Bool {
        mr > 0 && nr > 0 && lanes > 0 && nr % lanes == 0 && ScalarType.vector(lanes) != nil
            && tilesPerBlock > 0 && panelsPerBlock > 0
    }

    /// The tiling for an m×k·k×n product on `target`. The register tile uses all but a few
    /// vector registers (accumulators, one B vector per column vector, one broadcast A);
    /// a B panel (k×nr) is kept within L2 per unit of work; blocks are cut so about sixteen
    /// units per thread exist when the product is large enough to split: the pool's threads claim
    /// chunks of units in turn, so with two a thread that started late (woken, descheduled) ends a whole
    /// unit after the other — measured on 1×1 convolutions of 384 channels at 14×14, 16
    /// units per thread took 5.5 ms where 2 took 6.2 (two threads).
    public static func choose(m: Int, n: Int, k: Int, target: CodegenTarget, vectorsPerRow: Int? = nil) -> GemmTiling {
        let lanes = target.vectorLanes
        // Narrow products (a 10-class layer) use one vector per row and taller tiles.
        let vectors = vectorsPerRow ?? (n <= lanes ? 1 : 2)
        let nr = vectors * lanes
        let available = target.vectorRegisters - vectors - 2
        let tallest = Swift.max(1, Swift.min(available / vectors, vectors == 1 ? 14 : 12, m))
        // Among tiles at least half as tall that keep enough multiply-adds in flight to cover
        // the FMA latency (`minimumAccumulators`), the one whose last tile is fullest (64
        // channels: 8 rows, not 12 with a third-full last tile); the tallest on a tie. The last
        // row tile is a shorter micro-kernel of its own (`rowTile`), slower per row than a
        // whole one. On AVX2 the accumulator floor rules out 4×16 (8 accumulators), which ran
        // ResNet-18's 3×3 convolutions at 0.65–0.8 of 6×16's speed.
        var mr = tallest
        for candidate in stride(from: tallest, through: Swift.max(1, (tallest + 1) / 2), by: -1)
        where candidate * vectors >= Swift.min(minimumAccumulators, tallest * vectors) {
            let waste = (m + candidate - 1) / candidate * candidate - m, best = (m + mr - 1) / mr * mr - m
            if waste < best { mr = candidate }
        }
        let tiles = (m + mr - 1) / mr, panels = (n + nr - 1) / nr
        // A block of rows stays in L2 while every panel of the block streams past it.
        let rowBytes = Swift.max(1, 4 * k)
        var tilesPerBlock = Swift.max(1, Swift.min(tiles, (target.l2Bytes / 2) / (rowBytes * mr)))
        var panelsPerBlock = Swift.max(1, Swift.min(panels, (target.l2Bytes / 4) / (rowBytes * nr)))
        let work = 2 * m * n * k
        if work >= 1 << 18 {
            let wanted = 16 * target.threads
            while units(tiles, tilesPerBlock, panels, panelsPerBlock) < wanted && panelsPerBlock > 1 { panelsPerBlock = (panelsPerBlock + 1) / 2 }
            while units(tiles, tilesPerBlock, panels, panelsPerBlock) < wanted && tilesPerBlock > 1 { tilesPerBlock = (tilesPerBlock + 1) / 2 }
        }
        // Blocks of equal size: the pool hands each thread a contiguous run of units, so a short
        // last row block (22 tiles as 18 + 4) left one thread most of the work — a stride-2
        // convolution of 128 filters on AVX2 ran at 34–44% of peak where 192 filters ran at 52–67%.
        tilesPerBlock = balanced(tiles, tilesPerBlock)
        panelsPerBlock = balanced(panels, panelsPerBlock)
        return GemmTiling(mr: mr, nr: nr, lanes: lanes, tilesPerBlock: tilesPerBlock, panelsPerBlock: panelsPerBlock)
    }

    /// The block size that cuts `count` into as many blocks as `perBlock` does, as evenly as
    /// whole blocks allow: every block that size but the last, which is at most one per block shorter.
    static func balanced(_ count: Int, _ perBlock: Int) -> Int {
        let blocks = (count + perBlock - 1) / perBlock
        return (count + blocks - 1) / blocks
    }

    private static func units(_ tiles: Int, _ perBlock: Int, _ panels: Int, _ perPanelBlock: Int) -> Int {
        ((tiles + perBlock - 1) / perBlock) * ((panels + perPanelBlock - 1) / perPanelBlock)
    }
}
