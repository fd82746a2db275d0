import KilnIR

extension LoopKernel {
    /// Indices into `buffers` of the buffers the kernel reads and of those it writes, at any
    /// depth (a kernel lists every buffer of its node, used or not): what a schedule of calls
    /// needs to know of who reads and writes what. A GEMM reads A and B (and C when it
    /// accumulates) and writes C.
    public var bufferUse: (read: Set<Int>, written: Set<Int>) {
        var read = Set<Int>(), written = Set<Int>()
        func expr(_ e: Expr) {
            LoopRewriting.forEach(e) { e in
                switch e {
                case .load(let buffer, _), .vectorLoad(let buffer, _, _), .stridedLoad(let buffer, _, _, _): read.insert(buffer)
                case .i64, .i32, .f32, .bool, .loopVar, .value, .unary, .binary, .compare, .select, .convert, .random,
                     .splat, .fma, .swapLanes, .lane: break
                }
            }
        }
        func walk(_ stmts: [Stmt]) {
            for s in stmts {
                switch s {
                case .loop(let l): walk(l.body)
                case .when(let condition, let then, let otherwise): expr(condition); walk(then); walk(otherwise)
                case .store(let buffer, let index, let value), .vectorStore(let buffer, let index, let value):
                    written.insert(buffer); expr(index); expr(value)
                case .prefetch(let buffer, let index): read.insert(buffer); expr(index)
                case .gemm(let g):
                    read.formUnion([g.a, g.b])
                    if g.accumulate { read.insert(g.c) }
                    written.insert(g.c)
                case .bind(_, let e), .declare(_, _, let e), .assign(_, let e): expr(e)
                case .fail(_, let a, let b): expr(a); expr(b)
                }
            }
        }
        walk(body)
        return (read, written)
    }
}
