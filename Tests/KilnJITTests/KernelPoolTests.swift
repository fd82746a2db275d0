import Foundation
@testable import KilnJIT
import Testing

/// The kernel pool hands out chunks of a kernel's range to threads that claim them: every index
/// of every kernel must run exactly once, whatever the extent, the chunking and the order in
/// which threads wake (kernels run back to back, so a late worker meets the next generation).
struct KernelPoolTests {
    /// Adds 1 to counts[i] for i in [first, end); `arguments` points at the counts.
    static let count: KernelFunction = { first, end, arguments, _, _, _ in
        guard let counts = arguments?.assumingMemoryBound(to: Int32.self) else { return }
        for i in first..<end { _ = withUnsafeMutablePointer(to: &counts[Int(i)]) { increment($0) } }
    }

    /// Each index belongs to exactly one chunk, so plain increments race only when a chunk ran
    /// twice — which the counts then show.
    static func increment(_ p: UnsafeMutablePointer<Int32>) { p.pointee += 1 }

    @Test("every index of every kernel runs exactly once", arguments: [(3, 4), (1, 1), (2, 8)])
    func everyIndexOnce(workers: Int, chunksPerThread: Int) {
        let pool = KernelPool(workers: workers, chunksPerThread: chunksPerThread)
        for extent in [0, 1, 2, 5, 17, 64, 1000, 4099] {
            let counts = UnsafeMutablePointer<Int32>.allocate(capacity: Swift.max(extent, 1))
            counts.initialize(repeating: 0, count: Swift.max(extent, 1))
            defer { counts.deallocate() }
            for _ in 0..<50 {
                let ran = pool.run(Self.count, extent: Int64(extent), arguments: UnsafeMutableRawPointer(counts), context: nil, step: 0, failures: 0)
                #expect(ran)
            }
            let wrong = (0..<extent).filter { counts[$0] != 50 }
            #expect(wrong.isEmpty, "extent \(extent): indices not run 50 times: \(wrong.prefix(5).map { ($0, counts[$0]) })")
        }
    }

    @Test("a pool without workers declines, so the caller uses the dispatch queue")
    func noWorkers() {
        let pool = KernelPool(workers: 0)
        #expect(!pool.run(Self.count, extent: 4, arguments: nil, context: nil, step: 0, failures: 0))
    }

    /// Polls `condition` for up to 5 s (a loaded machine may not schedule the worker at once).
    func eventually(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    @Test("inside a step workers stay awake between kernels; outside one they go to sleep")
    func awakeThroughSteps() {
        let pool = KernelPool(workers: 1)
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        counts.initialize(repeating: 0, count: 64)
        defer { counts.deallocate() }
        func kernel() { #expect(pool.run(Self.count, extent: 64, arguments: UnsafeMutableRawPointer(counts), context: nil, step: 0, failures: 0)) }
        kernel()
        #expect(eventually { pool.sleeps.load(ordering: .relaxed) >= 1 }, "outside a step, an idle worker sleeps")
        pool.beginStep()
        kernel()
        usleep(20_000)
        // From here on the worker has been woken (or is about to be) and must not sleep again.
        let before = pool.sleeps.load(ordering: .relaxed)
        for _ in 0..<5 {
            kernel()
            usleep(5_000) // a serial stretch of the step, far longer than the short spin
        }
        #expect(pool.sleeps.load(ordering: .relaxed) == before)
        pool.endStep()
        #expect(eventually { pool.sleeps.load(ordering: .relaxed) > before }, "after the step, the worker sleeps again")
        #expect((0..<64).allSatisfy { counts[$0] == 7 })
    }

    /// Marks counts[first] for each chunk it is called with (chunks start at distinct indices).
    static let markChunk: KernelFunction = { first, end, arguments, _, _, _ in
        guard first < end, let counts = arguments?.assumingMemoryBound(to: Int32.self) else { return }
        counts[Int(first)] = 1
    }

    /// Kept for the whole run: its worker thread holds the pool unowned and never exits.
    static let stepPool = KernelPool(workers: 1, chunksPerThread: 4, uncontendedChunks: 1)

    @Test("an uncontended step gives each thread one contiguous range; a contended one claims chunks")
    func chunksPerStep() {
        let pool = Self.stepPool
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        defer { counts.deallocate() }
        func chunks(contended: Bool?) -> Int {
            counts.initialize(repeating: 0, count: 64)
            if let contended { pool.beginStep(contended: contended) }
            #expect(pool.run(Self.markChunk, extent: 64, arguments: UnsafeMutableRawPointer(counts), context: nil, step: 0, failures: 0))
            if contended != nil { pool.endStep() }
            return (0..<64).filter { counts[$0] != 0 }.count
        }
        #expect(chunks(contended: false) == 2)
        #expect(chunks(contended: true) == 8)
        #expect(chunks(contended: nil) == 8)
    }

    static let pinnedPool = KernelPool(workers: 1, pinning: true)

    @Test("a step's caller is pinned to one CPU, stays pinned for the next step, and gets its own mask back once the pool is idle")
    func pinsCaller() throws {
        try #require(ThreadAffinity.allowed.count >= 2, "pinning needs two CPUs; this machine allows \(ThreadAffinity.allowed)")
        let pool = Self.pinnedPool
        #expect(pool.pinning)
        // Its worker asleep: a worker going idle gives the caller its mask back (by design), and
        // one that had just started would do so between the steps below.
        #expect(eventually { pool.sleeps.load(ordering: .relaxed) >= 1 })
        let before = try #require(ThreadAffinity.current())
        pool.beginStep(contended: false, pin: true)
        let during = try #require(ThreadAffinity.current())
        pool.endStep()
        let pinned = (0..<during.count * 8).filter { during[$0 / 8] & (1 << ($0 % 8)) != 0 }
        #expect(pinned == [ThreadAffinity.allowed[0]])
        #expect(ThreadAffinity.current() == during, "still pinned between steps")
        // Nothing given back while a step runs.
        pool.beginStep(contended: false, pin: true)
        pool.releaseCaller()
        #expect(ThreadAffinity.current() == during)
        pool.endStep()
        pool.releaseCaller()
        #expect(ThreadAffinity.current() == before, "the pool idle: the caller's own mask")
        // Left pinned, the caller gets its mask back when the worker goes to sleep.
        pool.beginStep(contended: false, pin: true)
        pool.endStep()
        #expect(ThreadAffinity.current() == during)
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        counts.initialize(repeating: 0, count: 64)
        defer { counts.deallocate() }
        let sleeps = pool.sleeps.load(ordering: .relaxed)
        #expect(pool.run(Self.count, extent: 64, arguments: UnsafeMutableRawPointer(counts), context: nil, step: 0, failures: 0))
        #expect(eventually { pool.sleeps.load(ordering: .relaxed) > sleeps && ThreadAffinity.current() == before })
        // A step without parallel kernels leaves the caller alone.
        pool.beginStep(contended: false, pin: false)
        #expect(ThreadAffinity.current() == before)
        pool.endStep()
    }
}
