import Foundation
import KilnSupport
import Synchronization

/// Persistent worker threads for the step program's parallel kernels: one per core besides the
/// caller, started once, handed each kernel through an atomic generation counter (no per-kernel
/// fork/join through the dispatch queue, whose wake-ups cost tens of µs per call — a ResNet-18
/// step has ~40 parallel kernels). While a step runs (`beginStep`/`endStep`, which
/// `JITBackend.run` brackets its kernels with), workers spin between kernels however long the
/// caller spends in serial kernels, as onnxruntime's pool does during a run: waking a sleeping
/// thread costs tens of µs on a VM, more than many of a step's kernels take. Outside a step, a
/// worker spins briefly for the next kernel, then sleeps on a condition variable, so an idle
/// process burns no core.
///
/// A kernel's range is cut into a few chunks per thread, which threads *claim* one at a time
/// (dynamic scheduling, as OpenMP's `schedule(dynamic)` and onnxruntime's pool do): a thread that
/// starts late or runs on a core shared with another process takes fewer chunks instead of
/// holding the whole step up. Claims carry the kernel's generation, so a worker that wakes late
/// can never run a chunk of the next kernel with the previous kernel's arguments.
/// A step whose kernels have the cores to themselves (`beginStep(contended: false)`: no OpenBLAS
/// call, whose worker threads spin for a while after returning) cuts each kernel into one chunk
/// per thread instead: contiguous ranges, and no chunk boundaries inside a thread's share.
/// Measured round-robin against four chunks (2 threads, AVX-512): ONNX ResNet-18 b1 0.95–0.97
/// of the time, MobileNetV2 b1 0.96–0.97; but the LeNet-5 Adam step, which calls sgemm three
/// times, took 1.45× as long with one chunk per thread, so contended steps keep four.
/// Each worker is pinned to a CPU of its own, and a step with parallel kernels pins its caller
/// to another one (`KILN_PIN=off` turns this off). Unpinned, Linux at times woke the worker onto
/// the caller's CPU and left both there for whole steps: measured on this 2-vCPU VM with several
/// processes taking turns, some processes ran the same convolution 1.8–1.9× slower for many
/// steps in a row; pinned, none did. The caller stays pinned from step to step and gets its own
/// mask back when the pool goes idle (a worker does it before it sleeps): pinning and restoring
/// around every step moved the caller between CPUs each time, ~10 µs a step, a third of a
/// 32×256×128 product's step.
/// After a step that followed the one before within `idleSpin` — a caller running step after
/// step (a training loop, a server) — workers spin `idleSpin` for the next before they sleep, as
/// onnxruntime's and OpenBLAS's workers do, so the next step finds them awake (waking one cost
/// tens of µs on a VM). After a lone step, or a kernel run outside one, they spin only
/// `briefSpin`: a process that runs one step and moves on (a test, a conversion) does not keep a
/// core busy, which others running beside it want.
/// One step program at a time: a second caller (another thread's backend) finds the pool busy
/// and falls back to the dispatch queue.
final class KernelPool: @unchecked Sendable {
    /// `KILN_POOL=off` runs parallel kernels on the dispatch queue instead; `KILN_POOL=static`
    /// gives each thread one contiguous range and `KILN_POOL=dynamic` four chunks, in every step
    /// (for side-by-side comparisons).
    static let shared: KernelPool = {
        let mode = ProcessInfo.processInfo.environment["KILN_POOL"]
        return KernelPool(workers: mode == "off" ? 0 : kernelThreads - 1, chunksPerThread: mode == "static" ? 1 : 4,
                          uncontendedChunks: mode == "dynamic" ? 4 : 1,
                          pinning: ProcessInfo.processInfo.environment["KILN_PIN"] != "off")
    }()

    let workers: Int
    /// Chunks per thread a kernel's range is cut into (fewer when the range is shorter), outside
    /// a step and in contended steps.
    let chunksPerThread: Int
    /// The same inside an uncontended step.
    let uncontendedChunks: Int
    /// Chunks per thread for the step now running.
    private let stepChunks = Atomic<Int>(0)
    /// Each worker is pinned to its own CPU, and a step's caller to another one while the step
    /// runs (only when there are CPUs enough for every thread).
    let pinning: Bool
    private let generation = Atomic<Int>(0)
    /// (generation mod 2³¹) << 32 | the next unclaimed chunk.
    private let claims = Atomic<Int>(0)
    /// Chunks of the current kernel finished.
    private let completed = Atomic<Int>(0)
    private let busy = NSLock()
    private let sleepLock = NSCondition()
    private var sleeping = 0
    /// Steps running now: while any is, workers do not go to sleep.
    private let activeSteps = Atomic<Int>(0)
    /// How many times a worker went to sleep (for tests).
    let sleeps = Atomic<Int>(0)
    /// The kernel being run and its generation, written by the caller before it publishes
    /// that generation.
    private var task: Task?
    /// Seconds a worker spins outside a step before it sleeps: longer than a caller's turn
    /// between two steps (a benchmark's pipe, a training loop's next batch), short enough that an
    /// idle process stops burning a core at once.
    static let idleSpin = 0.0005
    /// Seconds a worker spins before it sleeps when steps do not follow each other closely.
    static let briefSpin = 0.00002
    /// When the last step ended (monotonic seconds), and whether the step before it ended less
    /// than `idleSpin` before it began (steps are running in a loop).
    private let lastStepEnd = Atomic<UInt64>(0)
    private let looping = Atomic<Bool>(false)
    /// Set by `rest`: idle workers sleep now instead of spinning on; the next kernel clears it.
    private let resting = Atomic<Bool>(false)
    /// The thread a step pinned, with the mask to give back when the pool goes idle.
    private let pinnedCaller = Mutex<(thread: Int32, mask: [UInt8])?>(nil)
    private static let generationMask = (1 << 31) - 1

    private struct Task {
        var generation: Int
        var body: KernelFunction
        var extent: Int64
        var arguments: UnsafeMutableRawPointer?
        var context: UnsafeMutableRawPointer?
        var step: Int64
        var failures: Int64
        var chunks: Int
    }

    init(workers: Int, chunksPerThread: Int = 4, uncontendedChunks: Int = 1, pinning: Bool = false) {
        self.workers = Swift.max(0, workers)
        self.pinning = pinning && workers > 0 && ThreadAffinity.allowed.count >= workers + 1
        self.chunksPerThread = Swift.max(1, chunksPerThread)
        self.uncontendedChunks = Swift.max(1, uncontendedChunks)
        for index in 0..<self.workers {
            let thread = Thread { [unowned self] in self.work(index: index + 1) }
            thread.name = "kiln-kernel-\(index + 1)"
            thread.start()
        }
    }

    /// A step's kernels follow: keep the workers awake until the matching `endStep`. `contended`:
    /// other threads may want these cores during the step (it calls OpenBLAS). `pin`: the step
    /// has parallel kernels, so its caller is pinned to the first CPU (unless it still is from
    /// its last step; another thread left pinned gets its mask back first).
    func beginStep(contended: Bool = true, pin: Bool = false) {
        stepChunks.store(contended ? chunksPerThread : uncontendedChunks, ordering: .relaxed)
        let gap = monotonicSeconds() - Double(bitPattern: lastStepEnd.load(ordering: .relaxed))
        looping.store(gap < Self.idleSpin, ordering: .relaxed)
        let first = activeSteps.add(1, ordering: .relaxed).newValue == 1
        guard pin, pinning, first, let thread = ThreadAffinity.currentThread else { return }
        pinnedCaller.withLock { pinned in
            if pinned?.thread == thread { return }
            if let other = pinned { ThreadAffinity.restore(other.mask, thread: other.thread) }
            pinned = nil
            guard let mask = ThreadAffinity.current(), ThreadAffinity.pin(toAllowed: 0) else { return }
            pinned = (thread, mask)
        }
    }

    /// Sends idle workers to sleep at once (and gives a pinned caller its mask back), so work
    /// that follows on this process's other threads — the interpreter's OpenBLAS calls in
    /// `kiln bench`, timed against the JIT's steps — has the cores to itself. Waits up to 1 ms
    /// for them to sleep.
    func rest() {
        guard workers > 0 else { return }
        resting.store(true, ordering: .releasing)
        let deadline = monotonicSeconds() + 0.001
        while monotonicSeconds() < deadline {
            sleepLock.lock()
            let asleep = sleeping
            sleepLock.unlock()
            if asleep >= workers { break }
            sched_yield()
        }
        releaseCaller()
    }

    /// Wakes the workers (an empty kernel through the pool), so the next step finds them
    /// spinning as a loop of steps does.
    func wake() {
        _ = run({ _, _, _, _, _, _ in }, extent: Int64(workers + 1), arguments: nil, context: nil, step: 0, failures: 0)
    }

    /// Gives a caller pinned by an earlier step its own mask back, unless a step is running.
    func releaseCaller() {
        pinnedCaller.withLock { pinned in
            guard let caller = pinned, activeSteps.load(ordering: .relaxed) == 0 else { return }
            ThreadAffinity.restore(caller.mask, thread: caller.thread)
            pinned = nil
        }
    }

    /// Chunks per thread for a kernel run now.
    var currentChunksPerThread: Int {
        activeSteps.load(ordering: .relaxed) > 0 ? stepChunks.load(ordering: .relaxed) : chunksPerThread
    }

    /// The step has ended: workers may sleep once they have spun `idleSpin` (steps in a loop) or
    /// `briefSpin`.
    func endStep() {
        lastStepEnd.store(monotonicSeconds().bitPattern, ordering: .relaxed)
        activeSteps.subtract(1, ordering: .relaxed)
    }

    /// Runs `body` over [0, extent), cut into chunks the caller and the workers claim in turn.
    /// False (nothing run) when the pool has no workers or is busy.
    func run(_ body: KernelFunction, extent: Int64, arguments: UnsafeMutableRawPointer?, context: UnsafeMutableRawPointer?,
             step: Int64, failures: Int64) -> Bool {
        guard workers > 0, busy.try() else { return false }
        defer { busy.unlock() }
        resting.store(false, ordering: .relaxed)
        let chunks = Int(Swift.min(Int64((workers + 1) * currentChunksPerThread), Swift.max(extent, 1)))
        let next = generation.load(ordering: .relaxed) + 1
        let current = Task(generation: next, body: body, extent: extent, arguments: arguments, context: context,
                           step: step, failures: failures, chunks: chunks)
        task = current
        completed.store(0, ordering: .relaxed)
        claims.store((next & Self.generationMask) << 32, ordering: .releasing)
        generation.store(next, ordering: .releasing)
        sleepLock.lock()
        if sleeping > 0 { sleepLock.broadcast() }
        sleepLock.unlock()
        runChunks(current)
        while completed.load(ordering: .acquiring) < chunks {}
        return true
    }

    /// Claims and runs chunks of `t` until none is left (or a newer kernel has started).
    private func runChunks(_ t: Task) {
        let mask = (1 << 32) - 1, tag = t.generation & Self.generationMask
        while true {
            var claim = claims.load(ordering: .acquiring)
            while true {
                guard claim >> 32 == tag, claim & mask < t.chunks else { return }
                let (exchanged, original) = claims.compareExchange(expected: claim, desired: claim + 1, ordering: .acquiringAndReleasing)
                if exchanged { break }
                claim = original
            }
            let index = Int64(claim & mask), chunks = Int64(t.chunks)
            t.body(t.extent * index / chunks, t.extent * (index + 1) / chunks, t.arguments, t.context, t.step, t.failures)
            completed.add(1, ordering: .releasing)
        }
    }

    private func work(index: Int) {
        if pinning { ThreadAffinity.pin(toAllowed: index) }
        var seen = 0
        while true {
            var spins = 0
            var idleSince = monotonicSeconds()
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins & 255 != 0 { continue }
                // Stay awake, but let another runnable thread of this core (OpenBLAS's, the
                // interpreter's) go first.
                if spins & 1023 == 0 { sched_yield() }
                if activeSteps.load(ordering: .relaxed) > 0 {
                    idleSince = monotonicSeconds()
                    continue
                }
                let spin = looping.load(ordering: .relaxed) ? Self.idleSpin : Self.briefSpin
                if !resting.load(ordering: .acquiring), monotonicSeconds() - idleSince < spin { continue }
                releaseCaller()
                sleeps.add(1, ordering: .relaxed)
                sleepLock.lock()
                sleeping += 1
                while generation.load(ordering: .acquiring) == seen { sleepLock.wait() }
                sleeping -= 1
                sleepLock.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            guard let t = task, t.generation == seen else { continue }
            runChunks(t)
        }
    }
}
