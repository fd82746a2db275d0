import Glibc

/// How the `kiln` process's allocator keeps freed memory. The interpreter allocates every
/// node's result anew each step (tensors of up to megabytes); glibc serves such blocks from
/// `mmap` and unmaps them on free, or trims the top of its heap once enough is free, so a step
/// can page-fault its whole working set in again. Measured on the MLP's Adam step at batch 32
/// (interpreter, 400 steps): runs alternated between a fast mode (53K minor faults, 2.0 ms a
/// step) and a slow one (1.0M faults, 4.7 ms). Keeping freed memory in the process, as ML
/// runtimes' own allocators do, leaves only the fast mode. The JIT plans one arena and is
/// unaffected.
enum ProcessMemory {
    /// Blocks below 32 MiB come from the heap, and the
    /// heap is never trimmed. Called once, before any verb runs; true when glibc took both.
    @discardableResult
    static func keepFreedMemory() -> Bool {
        // `mallopt` and its parameters live in <malloc.h>, which Swift's Glibc module leaves
        // out: the function is looked up, the parameters are glibc's ABI values.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3
        // mallopt returns 1 when it accepts a value (a threshold above glibc's maximum: 0).
        let mmap = mallopt(mmapThreshold, 32 << 20)
        let trim = mallopt(trimThreshold, Int32.max)
        return mmap == 1 && trim == 1
    }
}
