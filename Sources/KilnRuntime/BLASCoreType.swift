import CBLAS
import Foundation

extension BLAS {
    /// The kernel family OpenBLAS uses now.
    public static var coreName: String {
        openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// The `OPENBLAS_CORETYPE` this CPU should use when OpenBLAS's own detection fell back to
    /// its generic SSE3 kernels ("Prescott"): Debian's OpenBLAS 0.3.21 does not know newer Intel
    /// Xeons and runs their GEMMs several times slower than their AVX-512/AVX2 kernels allow.
    /// Nil when OpenBLAS chose a real kernel family or the user set the variable.
    public static var betterCoreType: String? {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, coreName == "Prescott" else { return nil }
        return coreType(forCPUFlags: cpuFlags)
    }

    /// The kernel family for a CPU with these `/proc/cpuinfo` flags, nil when only the generic one fits.
    public static func coreType(forCPUFlags flags: Set<String>) -> String? {
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The flags of /proc/cpuinfo (empty when unreadable).
    public static var cpuFlags: Set<String> {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: " ").map(String.init))
    }

    /// Switches OpenBLAS to `betterCoreType`, once, before Kiln's first GEMM (`warmUp` calls it,
    /// and every backend calls `warmUp`), so neither the `kiln` command nor an application has
    /// to set `OPENBLAS_CORETYPE` before the process starts. Returns the family switched to, nil
    /// when nothing needed switching or this OpenBLAS cannot switch.
    ///
    /// OpenBLAS reads `OPENBLAS_CORETYPE` in its load-time constructor, before any Swift code
    /// runs; a DYNAMIC_ARCH build (Debian's) exports the pair `gotoblas_dynamic_quit` /
    /// `gotoblas_dynamic_init` that that constructor uses, and calling them again with the
    /// variable set re-selects the kernel table. Nothing in OpenBLAS holds the old table
    /// (buffers are sized by a compile-time constant and allocated per call), so switching
    /// before the first BLAS call is safe. The variable stays set, so child processes (MPI
    /// ranks, `kiln` run from a test) start with the same kernels. A build without those
    /// symbols is left as it is (`coreName` says what it uses).
    public static let selectedCoreType: String? = {
        guard let core = betterCoreType,
              let quit = dlsym(nil, "gotoblas_dynamic_quit"), let initialise = dlsym(nil, "gotoblas_dynamic_init") else { return nil }
        typealias Entry = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", core, 1)
        unsafeBitCast(quit, to: Entry.self)()
        unsafeBitCast(initialise, to: Entry.self)()
        return coreName == core ? core : nil
    }()
}
