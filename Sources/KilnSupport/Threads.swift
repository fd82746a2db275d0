#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How many threads Kiln's parallel work (OpenBLAS, the JIT's kernel workers) should use:
/// `KILN_THREADS` when set to a positive integer, else the cores this process may run on
/// (its CPU affinity, which `mpirun --bind-to core` or `taskset` narrows), else every core.
/// Several MPI ranks on one host would otherwise each start a thread per core and fight.
public let kilnThreadCount: Int = {
    if let text = ProcessInfo.processInfo.environment["KILN_THREADS"], let n = Int(text), n > 0 { return n }
    #if canImport(Glibc)
    var set = cpu_set_t()
    if sched_getaffinity(0, MemoryLayout<cpu_set_t>.size, &set) == 0 {
        let count = withUnsafeBytes(of: &set) { $0.reduce(0) { $0 + $1.nonzeroBitCount } }
        if count > 0 { return count }
    }
    #endif
    return Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
}()
