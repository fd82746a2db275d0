import CBLAS
import Foundation

extension BLAS {
    /// The kernel family OpenBLAS chose for this CPU.
    public static var coreName: String {
        openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// The `OPENBLAS_CORETYPE` this CPU should use when OpenBLAS's own detection fell back to
    /// its generic SSE3 kernels ("Prescott"): Debian's OpenBLAS 0.3.21 does not know newer Intel
    /// Xeons and runs their GEMMs several times slower than their AVX-512/AVX2 kernels allow.
    /// Nil when OpenBLAS chose a real kernel family or the user set the variable.
    public static var betterCoreType: String? {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, coreName == "Prescott",
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }
}
