import Foundation
import Synchronization

/// Persistent worker threads for the step program's parallel kernels: one per core besides the
/// caller, started once, handed each kernel's range through an atomic generation counter
/// (no per-kernel fork/join through the dispatch queue, whose wake-ups cost tens of µs per
/// call — a ResNet-18 step has ~40 parallel kernels). After a kernel, a worker spins briefly
/// for the next one, then sleeps on a condition variable, so an idle process burns no core.
/// One step program at a time: a second caller (another thread's backend) finds the pool busy
/// and falls back to the dispatch queue.
final class KernelPool: @unchecked Sendable {
    /// `KILN_POOL=off` runs parallel kernels on the dispatch queue instead (for comparisons).
    static let shared = KernelPool(workers: ProcessInfo.processInfo.environment["KILN_POOL"] == "off" ? 0 : kernelThreads - 1)

    let workers: Int
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let busy = NSLock()
    private let sleepLock = NSCondition()
    private var sleeping = 0
    /// The kernel being run and its generation, written by the caller before it publishes
    /// that generation (a worker runs a task only of the generation it woke for: never twice).
    private var task: (generation: Int, body: KernelFunction, extent: Int64, arguments: UnsafeMutableRawPointer?,
                       context: UnsafeMutableRawPointer?, step: Int64, failures: Int64, chunks: Int64)?
    /// Spins before sleeping: ~10–20 µs, longer than the gap between two kernels of a step, short
    /// enough not to hold a core OpenBLAS (a training step's sgemm calls) wants.
    private let spinLimit = 20_000

    init(workers: Int) {
        self.workers = Swift.max(0, workers)
        for index in 0..<self.workers {
            let thread = Thread { [unowned self] in self.work(index: index + 1) }
            thread.name = "kiln-kernel-\(index + 1)"
            thread.start()
        }
    }

    /// Runs `body` over [0, extent) split into one contiguous range per thread, the caller
    /// taking the first. False (nothing run) when the pool has no workers or is busy.
    func run(_ body: KernelFunction, extent: Int64, arguments: UnsafeMutableRawPointer?, context: UnsafeMutableRawPointer?,
             step: Int64, failures: Int64) -> Bool {
        guard workers > 0, busy.try() else { return false }
        defer { busy.unlock() }
        let chunks = Swift.min(Int64(workers + 1), Swift.max(extent, 1))
        let next = generation.load(ordering: .relaxed) + 1
        task = (next, body, extent, arguments, context, step, failures, chunks)
        pending.store(Int(chunks - 1), ordering: .relaxed)
        generation.store(next, ordering: .releasing)
        sleepLock.lock()
        if sleeping > 0 { sleepLock.broadcast() }
        sleepLock.unlock()
        body(0, extent / chunks, arguments, context, step, failures)
        while pending.load(ordering: .acquiring) > 0 {}
        return true
    }

    private func work(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins < spinLimit { continue }
                sleepLock.lock()
                sleeping += 1
                while generation.load(ordering: .acquiring) == seen { sleepLock.wait() }
                sleeping -= 1
                sleepLock.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            guard let t = task, t.generation == seen, Int64(index) < t.chunks else { continue }
            t.body(t.extent * Int64(index) / t.chunks, t.extent * Int64(index + 1) / t.chunks, t.arguments, t.context, t.step, t.failures)
            pending.subtract(1, ordering: .releasing)
        }
    }
}
