import Foundation
import KilnRuntime
import Testing

/// The library, not the application, picks OpenBLAS's kernels for this CPU.
struct BLASCoreTypeTests {
    @Test("after the first GEMM, OpenBLAS runs the CPU's own kernel family, not the generic Prescott one")
    func selected() throws {
        _ = BLAS.warmUp
        let fits = BLAS.coreType(forCPUFlags: BLAS.cpuFlags)
        if let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], BLAS.selectedCoreType == nil {
            // The user (or a parent process) chose: the library leaves that choice alone.
            #expect(BLAS.coreName.lowercased() == forced.lowercased())
        } else if fits != nil {
            #expect(BLAS.coreName != "Prescott", "OpenBLAS still runs its generic kernels on a CPU that supports \(fits ?? "")")
        }
    }

    @Test("sgemm after the switch agrees with a double-precision loop")
    func gemmStillCorrect() throws {
        _ = BLAS.warmUp
        let (m, n, k) = (37, 29, 53)
        let a: [Float] = (0..<(m * k)).map { (i: Int) -> Float in Float((i * 7) % 13) / 13 - 0.5 }
        let b: [Float] = (0..<(k * n)).map { (i: Int) -> Float in Float((i * 5) % 11) / 11 - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(transA: false, transB: false, m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                              c: pc.baseAddress!, ldc: n)
                }
            }
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
                worst = Swift.max(worst, abs(sum - Double(c[i * n + j])))
            }
        }
        #expect(worst < 1e-5)
    }
}
