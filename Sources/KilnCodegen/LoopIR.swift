import KilnIR

/// The code generator's intermediate language: loop nests over static extents with scalar
/// expressions, loads and stores, between Kiln's graph IR and LLVM. Every op lowers to it
/// (`Lowering`); the JIT renders it (`KilnJIT.LoopRenderer`); `LoopPrinter` prints it for
/// golden tests. It has no LLVM in it: a kernel is data a test can read.

/// The types a loop kernel computes with: element types, 64-bit indices, booleans, and f32
/// vectors of the widths the targets have (SSE/NEON, AVX2, AVX-512), which only generated
/// micro-kernels use: a vector is a value in registers, loaded and stored contiguously.
public enum ScalarType: String, Sendable, Hashable {
    case f32, i32, i64, i1
    case f32x4, f32x8, f32x16

    /// The f32 vector of `lanes` lanes, if a target has it.
    public static func vector(_ lanes: Int) -> ScalarType? {
        switch lanes {
        case 4: return .f32x4
        case 8: return .f32x8
        case 16: return .f32x16
        default: return nil
        }
    }

    /// Lanes of a vector type; 1 for a scalar.
    public var lanes: Int {
        switch self {
        case .f32, .i32, .i64, .i1: return 1
        case .f32x4: return 4
        case .f32x8: return 8
        case .f32x16: return 16
        }
    }

    public init(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .i32: self = .i32
        }
    }
}

/// Operations on one operand. Float ops take f32; `neg`, `abs` also take i32 and i64.
public enum UnaryOp: String, Sendable, Hashable {
    case neg, abs, exp, expm1, log, log1p, sqrt, tanh, sigmoid, cos, floor
    /// True (1) where a float is NaN: an i1.
    case isNaN = "is_nan"
    /// Logical not of an i1.
    case not
}

/// Operations on two operands of one type. Integer division and remainder are signed and
/// are only used on non-negative index arithmetic or with an explicit zero guard.
public enum BinaryOp: String, Sendable, Hashable {
    case add, sub, mul, div, rem, pow
    /// Maximum and minimum that propagate NaN (the interpreter's `max`/`min`).
    case maxNaN = "max", minNaN = "min"
    /// An addition the code generator may reassociate: reduction accumulators only, so the
    /// vectoriser can keep several partial sums.
    case addReassoc = "add_reassoc"
    /// Logical and/or of i1 values.
    case and, or
}

/// Comparisons: ordered for floats except `ne` (true for NaN, like Swift's `!=`); signed for integers.
public enum Comparison: String, Sendable, Hashable {
    case eq, ne, lt, le, gt, ge
}

/// The counter-based random numbers every backend shares (`KilnRandom`).
public enum RandomKind: String, Sendable, Hashable {
    /// Uniform in [0, 1) at element `index` of the stream (seed, step).
    case uniform
    /// Standard normal (Box–Muller) at element `index`.
    case normal
}

/// A scalar expression. Its type follows from its leaves: constants, loop variables (i64),
/// bound values, loads (the buffer's element type).
public indirect enum Expr: Hashable, Sendable {
    case i64(Int)
    case i32(Int32)
    case f32(Float)
    case bool(Bool)
    /// The current value of loop variable `n`.
    case loopVar(Int)
    /// A value bound by `Stmt.bind` or the current value of a local declared by `Stmt.declare`.
    case value(Int)
    /// Element `index` (i64) of kernel buffer `buffer`.
    case load(buffer: Int, index: Expr)
    case unary(UnaryOp, Expr)
    case binary(BinaryOp, Expr, Expr)
    /// An i1.
    case compare(Comparison, Expr, Expr)
    /// `condition` (i1) ? a : b.
    case select(Expr, Expr, Expr)
    /// Numeric conversion; f32 → i32 saturates and maps NaN to 0, i32 → i64 sign-extends.
    case convert(Expr, ScalarType)
    /// A random number of the stream (seed, the step being run) at element `index` (i64).
    case random(RandomKind, seed: Int, index: Expr)
    /// `lanes` consecutive f32 elements of `buffer` from `index` (an f32 vector).
    case vectorLoad(buffer: Int, index: Expr, lanes: Int)
    /// `lanes` floats starting at `index`, every `stride`-th one (`stride` 2: the even
    /// elements of 2·lanes, what a stride-2 convolution's phase split and pooling read).
    case stridedLoad(buffer: Int, index: Expr, lanes: Int, stride: Int)
    /// An f32 scalar in every lane.
    case splat(Expr, lanes: Int)
    /// a·b + c rounded once (scalars or vectors of one type).
    case fma(Expr, Expr, Expr)
    /// The vector `x` with lane i holding x's lane i XOR `distance` (a power of two below the
    /// width): combined with `x`, one step of a horizontal reduction.
    case swapLanes(Expr, distance: Int)
    /// Lane `index` of the vector `x`, an f32.
    case lane(Expr, Int)
}

/// `C[m×n] = op(A)·op(B)` in row-major f32 through BLAS, A, B and C at element offsets of buffers.
public struct Gemm: Hashable, Sendable {
    public var a: Int, b: Int, c: Int
    public var aOffset = 0, bOffset = 0, cOffset = 0
    public var transposeA: Bool, transposeB: Bool
    public var m: Int, n: Int, k: Int
    public var lda: Int, ldb: Int, ldc: Int
    /// Add into C instead of overwriting it.
    public var accumulate = false

    public init(a: Int, b: Int, c: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int) {
        (self.a, self.b, self.c) = (a, b, c)
        (self.transposeA, self.transposeB) = (transposeA, transposeB)
        (self.m, self.n, self.k) = (m, n, k)
        (self.lda, self.ldb, self.ldc) = (lda, ldb, ldc)
    }
}

/// A runtime error a kernel can raise (data-dependent: the step stops and the backend throws
/// the message, with the node's source location).
public struct Failure: Hashable, Sendable {
    /// The message; `{0}` and `{1}` are replaced by the two reported values.
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// What a loop's iterations are, as the lowering knows it.
public enum LoopAxis: String, Sendable, Hashable {
    /// Iterations are independent and touch disjoint outputs: any order, any thread, any lane.
    case dataParallel = "data-parallel"
    /// Iterations may depend on earlier ones (a reduction's accumulation, a scatter-add), or
    /// were not shown independent: they run in order.
    case ordered
}

/// How a loop runs. Lowering writes every loop `serial`; only schedule primitives
/// (`SchedulePrimitives`), after checking they are legal, set another kind.
public enum LoopKind: String, Sendable, Hashable {
    case serial
    /// Split across threads: the kernel's outermost loop only, whose iterations
    /// [first, end) the caller hands to each thread.
    case parallel
    /// Each iteration handles one vector of lanes: the body is written in vector values.
    case vectorized
    /// The body holds several iterations of the original loop, one after the other.
    case unrolled
}

/// One loop: `for v in 0..<extent`.
public struct Loop: Hashable, Sendable {
    public var variable: Int
    public var extent: Int
    public var axis: LoopAxis
    public var kind: LoopKind
    public var body: [Stmt]

    public init(variable: Int, extent: Int, axis: LoopAxis, kind: LoopKind = .serial, body: [Stmt]) {
        self.variable = variable
        self.extent = extent
        self.axis = axis
        self.kind = kind
        self.body = body
    }

    /// Iterations are independent (the renderer lets LLVM vectorise such a loop without alias checks).
    public var isDataParallel: Bool { axis == .dataParallel }
}

public indirect enum Stmt: Hashable, Sendable {
    case loop(Loop)
    /// Binds an immutable value, visible in the rest of the enclosing block.
    case bind(Int, Expr)
    /// A mutable local with an initial value, visible in the rest of the enclosing block.
    case declare(Int, ScalarType, Expr)
    case assign(Int, Expr)
    case store(buffer: Int, index: Expr, value: Expr)
    case when(Expr, then: [Stmt], otherwise: [Stmt])
    /// Raises failure `failures[code]` with two i64 values and ends the kernel.
    case fail(code: Int, Expr, Expr)
    case gemm(Gemm)
    /// Stores the lanes of the f32 vector `value` at consecutive elements of `buffer` from `index`.
    case vectorStore(buffer: Int, index: Expr, value: Expr)
    /// A hint that the cache line holding element `index` of `buffer` will be read soon (a
    /// software prefetch): no effect on any value. `index` must lie inside the buffer.
    case prefetch(buffer: Int, index: Expr)

    /// Whether `stmts` hold a loop at any depth (inside a `when` too): a loop whose body does
    /// not is innermost.
    public static func containLoop(_ stmts: [Stmt]) -> Bool {
        stmts.contains { s in
            switch s {
            case .loop: return true
            case .when(_, let then, let otherwise): return containLoop(then) || containLoop(otherwise)
            case .bind, .declare, .assign, .store, .fail, .gemm, .vectorStore, .prefetch: return false
            }
        }
    }
}

/// A buffer a kernel reads or writes: a graph value (found in the step's table by name) or
/// scratch memory private to the kernel.
public struct KernelBuffer: Hashable, Sendable {
    public var name: String
    public var type: ScalarType
    public var count: Int
    public var isScratch: Bool

    public init(name: String, type: ScalarType, count: Int, isScratch: Bool = false) {
        self.name = name
        self.type = type
        self.count = count
        self.isScratch = isScratch
    }
}

/// One generated function: runs `body` once, or — when `splitsOuterLoop` — runs the iterations
/// [first, end) of its single outermost loop, so the caller can share them among threads.
public struct LoopKernel: Hashable, Sendable {
    public var name: String
    public var buffers: [KernelBuffer]
    public var body: [Stmt]
    public var failures: [Failure]
    /// The body is one loop the schedule made parallel: the caller splits its iterations.
    public var splitsOuterLoop: Bool {
        guard body.count == 1, case .loop(let loop) = body[0] else { return false }
        return loop.kind == .parallel
    }
    /// Scalar operations the kernel performs, roughly: the caller splits it only when large.
    public var work: Int
    /// Floating-point operations of a contraction kernel (GEMM, convolution), else 0: what
    /// `kiln bench --profile` divides by time for GFLOP/s.
    public var flops: Int
    /// A result buffer the kernel writes before it has read all its operands (a contraction's
    /// product staged there for the epilogue to read back): it must not share storage with an
    /// operand (`InPlaceUpdates`).
    public var stagedBuffer: Int?

    public init(name: String, buffers: [KernelBuffer], body: [Stmt], failures: [Failure] = [], work: Int, flops: Int = 0) {
        self.name = name
        self.buffers = buffers
        self.body = body
        self.failures = failures
        self.work = work
        self.flops = flops
    }

    /// The kernel without its names: kernels equal here compute the same function of their
    /// buffers (the JIT compiles them once).
    public var anonymous: LoopKernel {
        var k = self
        k.name = ""
        k.buffers = buffers.map { KernelBuffer(name: "", type: $0.type, count: $0.count, isScratch: $0.isScratch) }
        return k
    }

    /// Extent of the outermost loop (1 when the kernel does not split).
    public var outerExtent: Int {
        guard splitsOuterLoop, case .loop(let loop) = body[0] else { return 1 }
        return loop.extent
    }
}
