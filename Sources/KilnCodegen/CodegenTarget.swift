/// What the code generator knows of the machine it generates for. The backend describes its
/// target (the JIT asks LLVM for the host CPU's features); lowering and scheduling read only
/// this, so the loop IR stays free of any particular CPU, and a golden test can pin one.
public struct CodegenTarget: Hashable, Sendable {
    /// f32 lanes of the widest vector register: 16 with AVX-512, 8 with AVX2, 4 with SSE or NEON.
    public var vectorLanes: Int
    /// Architectural vector registers: 32 with AVX-512, 16 with AVX2 or SSE.
    public var vectorRegisters: Int
    /// Threads a parallel loop is split across.
    public var threads: Int
    /// Per-core data cache sizes in bytes.
    public var l1Bytes: Int
    public var l2Bytes: Int

    public init(vectorLanes: Int, vectorRegisters: Int, threads: Int, l1Bytes: Int, l2Bytes: Int) {
        self.vectorLanes = vectorLanes
        self.vectorRegisters = vectorRegisters
        self.threads = Swift.max(1, threads)
        self.l1Bytes = l1Bytes
        self.l2Bytes = l2Bytes
    }

    /// An AVX2 machine with two threads: what golden tests and `kiln dump --loops` without a
    /// JIT assume.
    public static let avx2 = CodegenTarget(vectorLanes: 8, vectorRegisters: 16, threads: 2, l1Bytes: 32 << 10, l2Bytes: 512 << 10)
    /// An AVX-512 machine with two threads.
    public static let avx512 = CodegenTarget(vectorLanes: 16, vectorRegisters: 32, threads: 2, l1Bytes: 48 << 10, l2Bytes: 2 << 20)

    /// The target of a CPU with LLVM feature string `features` ("+avx2,+fma,…").
    public static func cpu(features: String, threads: Int, l1Bytes: Int?, l2Bytes: Int?) -> CodegenTarget {
        let set = Set(features.split(separator: ",").map(String.init))
        let (lanes, registers): (Int, Int)
        if set.contains("+avx512f") && set.contains("+avx512vl") {
            (lanes, registers) = (16, 32)
        } else if set.contains("+avx2") && set.contains("+fma") {
            (lanes, registers) = (8, 16)
        } else {
            (lanes, registers) = (4, 16)
        }
        return CodegenTarget(vectorLanes: lanes, vectorRegisters: registers, threads: threads,
                             l1Bytes: l1Bytes.flatMap { $0 > 0 ? $0 : nil } ?? (32 << 10),
                             l2Bytes: l2Bytes.flatMap { $0 > 0 ? $0 : nil } ?? (512 << 10))
    }
}
