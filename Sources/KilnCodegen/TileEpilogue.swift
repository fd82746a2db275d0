import KilnIR

/// The elementwise tail of a fused contraction (bias, activation, residual add, …), applied to
/// each element of a register tile right after the tile is stored, while it is in L1: the
/// contraction's result is read back from its buffer, the body computed, every result stored.
/// One pass over C instead of two (XLA's and oneDNN's post-ops).
struct TileEpilogue {
    let body: FusedBody
    /// Results the epilogue stores, with their kernel buffers.
    let stores: [(name: String, buffer: Int)]

    /// The statements for the element at `index` (the contraction result's multi-index) and
    /// `flat` (its offset in every full-shape buffer).
    func element(_ b: inout KernelBuilder, index: [Expr], flat: Expr) -> [Stmt] {
        var (stmts, values) = body.evaluate(&b, index: index, flat: flat)
        for (name, buffer) in stores {
            if let value = values[name] { stmts.append(.store(buffer: buffer, index: flat, value: value)) }
        }
        return stmts
    }

    /// The epilogue over a tile of `rows` × `columns`: `element(r, c)` gives the multi-index and
    /// the flat offset (affine in c for whole tiles, so the schedule vectorises the column loop);
    /// `inside(r, c)`, when given, guards each element of a tile overhanging its result.
    func tile(_ b: inout KernelBuilder, rows: Int, columns: Int, inside: ((Expr, Expr) -> Expr)?,
              element at: (Expr, Expr) -> (index: [Expr], flat: Expr)) -> [Stmt] {
        b.loop(rows, .ordered) { b, r in
            b.loop(columns, .dataParallel) { b, c in
                let (index, flat) = at(r, c)
                let stmts = element(&b, index: index, flat: flat)
                guard let inside else { return stmts }
                return [.when(inside(r, c), then: stmts, otherwise: [])]
            }
        }
    }
}
