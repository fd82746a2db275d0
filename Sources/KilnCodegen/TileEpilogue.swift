import KilnIR

/// The elementwise tail of a fused contraction (bias, activation, residual add, …), applied to
/// each element of a register tile right after the tile is stored, while it is in L1: the
/// contraction's result is read back from its buffer, the body computed, every result stored.
/// One pass over C instead of two (XLA's and oneDNN's post-ops).
struct TileEpilogue {
    let body: FusedBody
    /// Results the epilogue stores, with their kernel buffers.
    let stores: [(name: String, buffer: Int)]
    /// The contraction's value when it is no result of the kernel: a lowering may then keep
    /// the product out of the result buffer it is staged in, and hand it to the epilogue
    /// (`given`) from a scratch tile, so that buffer is written once, by the epilogue (and may
    /// share a param's storage: `InPlaceUpdates`). It says so in `KernelBuilder.productKeptOut`.
    var product: String?

    init(body: FusedBody, stores: [(name: String, buffer: Int)], product: String? = nil) {
        self.body = body
        self.stores = stores
        self.product = product
    }

    /// The statements for the element at `index` (the contraction result's multi-index) and
    /// `flat` (its offset in every full-shape buffer).
    func element(_ b: inout KernelBuilder, index: [Expr], flat: Expr, given: [String: Expr] = [:]) -> [Stmt] {
        var (stmts, values) = body.evaluate(&b, index: index, flat: flat, given: given)
        for (name, buffer) in stores {
            if let value = values[name] { stmts.append(.store(buffer: buffer, index: flat, value: value)) }
        }
        return stmts
    }

    /// The epilogue over a tile of `rows` × `columns`: `element(r, c)` gives the multi-index and
    /// the flat offset (affine in c for whole tiles, so the schedule vectorises the column loop);
    /// `inside(r, c)`, when given, guards each element of a tile overhanging its result.
    func tile(_ b: inout KernelBuilder, rows: Int, columns: Int, inside: ((Expr, Expr) -> Expr)?,
              given: ((Expr, Expr) -> [String: Expr])? = nil,
              element at: (Expr, Expr) -> (index: [Expr], flat: Expr)) -> [Stmt] {
        b.loop(rows, .ordered) { b, r in
            b.loop(columns, .dataParallel) { b, c in
                let (index, flat) = at(r, c)
                let stmts = element(&b, index: index, flat: flat, given: given?(r, c) ?? [:])
                guard let inside else { return stmts }
                return [.when(inside(r, c), then: stmts, otherwise: [])]
            }
        }
    }
}

extension LoopKernel {
    /// The kernel with `stagedBuffer` set (when the buffer exists in this kernel).
    func staging(_ buffer: Int?) -> LoopKernel {
        var kernel = self
        kernel.stagedBuffer = buffer.flatMap { kernel.buffers.indices.contains($0) ? $0 : nil }
        return kernel
    }
}
