import CBLAS
import Foundation
import KilnIR
import KilnSupport

/// OpenBLAS set-up and the GEMM calls every backend shares.
public enum BLAS {
    /// Pins OpenBLAS's thread count to the cores this process may use (`kilnThreadCount`) and
    /// runs one throw-away 1024³ sgemm.
    /// Measured on this machine: in a process that has only run small GEMMs, OpenBLAS keeps
    /// its buffers cold and single-thread sgemm on the MLP's shapes stays up to 3× slower for
    /// the life of the process; one large GEMM at start-up fixes that. Runs once.
    /// First switches OpenBLAS to the CPU's own kernels when it fell back to generic ones
    /// (`selectedCoreType`).
    public static let warmUp: Void = {
        _ = selectedCoreType
        openblas_set_num_threads(Int32(kilnThreadCount))
        let n = 1024
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        a.initialize(repeating: 0.5, count: n * n)
        ForkGuard.openBLAS.lockShared()
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), a, Int32(n), 0, c, Int32(n))
        ForkGuard.openBLAS.unlockShared()
        a.deallocate()
        c.deallocate()
    }()

    /// C[m×n] = alpha·op(A)·op(B) + beta·C, row-major; `lda`/`ldb` are the stored row lengths.
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        ForkGuard.openBLAS.lockShared()
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        ForkGuard.openBLAS.unlockShared()
    }

    /// `matmul` with its transpose flags mapped onto sgemm's (no transposed copies), one call
    /// per entry of the broadcast batch (`MatmulGeometry`), or one call for a whole batch of
    /// row blocks against a shared matrix.
    static func matmul(_ a: Tensor, _ b: Tensor, transA: Bool, transB: Bool, into out: Tensor) {
        _ = warmUp
        let g = MatmulGeometry(a: a.shape, b: b.shape, transposeA: transA, transposeB: transB)
        if g.flattensLeft {
            gemm(transA: false, transB: transB, m: g.batchCount * g.m, n: g.n, k: g.k,
                 a: a.floatPointer, lda: g.lda, b: b.floatPointer, ldb: g.ldb, c: out.floatPointer, ldc: g.n)
            return
        }
        for i in 0..<g.batchCount {
            gemm(transA: transA, transB: transB, m: g.m, n: g.n, k: g.k,
                 a: a.floatPointer + g.aOffsets[i], lda: g.lda, b: b.floatPointer + g.bOffsets[i], ldb: g.ldb,
                 c: out.floatPointer + i * g.m * g.n, ldc: g.n)
        }
    }
}

extension Tensor {
    var rank: Int { type.rank }
}
