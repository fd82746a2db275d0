import Foundation

/// How many threads Kiln's parallel work (OpenBLAS, the JIT's kernel workers) should use:
/// `KILN_THREADS` when set to a positive integer, else the cores this process may run on
/// (its CPU affinity, which `mpirun --bind-to core` or `taskset` narrows), else every core.
/// Several MPI ranks on one host would otherwise each start a thread per core and fight.
public let kilnThreadCount: Int = {
    if let text = ProcessInfo.processInfo.environment["KILN_THREADS"], let n = Int(text), n > 0 { return n }
    // Glibc's sched_getaffinity is not imported into Swift (it needs _GNU_SOURCE); the kernel
    // publishes the same mask as hex in /proc/self/status.
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) {
        let mask = line.dropFirst("Cpus_allowed:".count).filter(\.isHexDigit)
        let count = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
        if count > 0 { return Swift.min(count, Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)) }
    }
    return Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
}()
