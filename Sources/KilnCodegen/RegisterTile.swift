/// The register tile of a generated micro-kernel: `mr` rows of `nr / lanes` f32 vector
/// accumulators, the multiply-adds of one reduction step, and the two ways out to memory (whole
/// vectors, or through a spill tile element by element where the tile overhangs its target).
/// The GEMM and the direct convolution share it; only where A, B and C live differs.
struct RegisterTile {
    let tiling: GemmTiling
    private(set) var accumulators: [[Int]] = []

    /// Declares the accumulators, zeroed.
    init(_ b: inout KernelBuilder, _ tiling: GemmTiling, into stmts: inout [Stmt]) {
        self.tiling = tiling
        guard let vector = ScalarType.vector(tiling.lanes) else { return }
        for _ in 0..<tiling.mr {
            var row: [Int] = []
            for _ in 0..<tiling.vectorsPerRow {
                let v = b.fresh()
                stmts.append(.declare(v, vector, .splat(.f32(0), lanes: tiling.lanes)))
                row.append(v)
            }
            accumulators.append(row)
        }
    }

    /// One reduction step: B's vectors for this step loaded from `b`'s buffer at `bIndex(v)`,
    /// A's `mr` scalars (`aIndex(r)` in buffer `a`) broadcast, `mr · nr / lanes` fused multiply-adds.
    func step(_ b: inout KernelBuilder, a: Int, aIndex: (Int) -> Expr, b source: Int, bIndex: (Int) -> Expr) -> [Stmt] {
        var body: [Stmt] = []
        var vectors: [Expr] = []
        for v in 0..<tiling.vectorsPerRow {
            let id = b.fresh()
            body.append(.bind(id, .vectorLoad(buffer: source, index: bIndex(v), lanes: tiling.lanes)))
            vectors.append(.value(id))
        }
        for r in 0..<tiling.mr {
            let id = b.fresh()
            body.append(.bind(id, .splat(.load(buffer: a, index: aIndex(r)), lanes: tiling.lanes)))
            for v in 0..<tiling.vectorsPerRow {
                body.append(.assign(accumulators[r][v], .fma(.value(id), vectors[v], .value(accumulators[r][v]))))
            }
        }
        return body
    }

    /// Vector stores of every accumulator at `index(r, v)` in `c` (added to what is there when
    /// `accumulate`).
    func storeWhole(_ c: Int, accumulate: Bool, index: (Int, Int) -> Expr) -> [Stmt] {
        var stmts: [Stmt] = []
        for r in 0..<tiling.mr {
            for v in 0..<tiling.vectorsPerRow {
                let at = index(r, v)
                let value: Expr = accumulate
                    ? .binary(.add, .vectorLoad(buffer: c, index: at, lanes: tiling.lanes), .value(accumulators[r][v])) : .value(accumulators[r][v])
                stmts.append(.vectorStore(buffer: c, index: at, value: value))
            }
        }
        return stmts
    }

    /// The tile spilled to `scratch` at `spill`, then copied element by element to
    /// `target(r, c)` = (index in `c`, whether the element lies inside the result).
    func storeSpilled(_ b: inout KernelBuilder, _ c: Int, accumulate: Bool, scratch: Int, spill: Expr,
                      target: (Expr, Expr) -> (index: Expr, inside: Expr)) -> [Stmt] {
        let t = tiling
        var stmts: [Stmt] = []
        for r in 0..<t.mr {
            for v in 0..<t.vectorsPerRow {
                stmts.append(.vectorStore(buffer: scratch, index: spill.plus(r * t.nr + v * t.lanes), value: .value(accumulators[r][v])))
            }
        }
        stmts += b.loop(t.mr, .ordered) { b, r in
            b.loop(t.nr, .ordered) { _, column in
                let (index, inside) = target(r, column)
                let value = Expr.load(buffer: scratch, index: spill.plus(r.mul(t.nr)).plus(column))
                let sum: Expr = accumulate ? .binary(.add, .load(buffer: c, index: index), value) : value
                return [.when(inside, then: [.store(buffer: c, index: index, value: sum)], otherwise: [])]
            }
        }
        return stmts
    }
}

extension GemmTiling {
    /// Row tile `tile` of a product with `rows` rows: a whole `mr`-row tile, or for the last
    /// tile when `mr` does not divide `rows`, a tile of only the `rows % mr` rows left, so every
    /// row a micro-kernel reads exists. (Clamping the overhanging rows to the last one instead
    /// makes their addresses non-affine: LLVM then keeps a pointer per row and, with 16 vector
    /// registers, spills — a 6×16 AVX2 convolution ran 1.7× slower than 4×16 that way.)
    /// `body(b, tiling, first row)` makes the micro-kernel for a tiling.
    func rowTile(_ b: inout KernelBuilder, rows: Int, tile: Expr, _ body: (inout KernelBuilder, GemmTiling, Expr) -> [Stmt]) -> [Stmt] {
        let first = tile.mul(mr)
        guard rows % mr != 0 else { return body(&b, self, first) }
        var tail = self
        tail.mr = rows % mr
        return [.when(tile.compare(.lt, .i64(rows / mr)), then: body(&b, self, first), otherwise: body(&b, tail, first))]
    }
}
