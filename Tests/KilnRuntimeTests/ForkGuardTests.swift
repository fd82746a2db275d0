import Foundation
import KilnSupport
import Synchronization
import Testing

/// The fork guard keeps a forking call (MPI_Init) out while OpenBLAS products run, and lets
/// products run side by side.
struct ForkGuardTests {
    @Test("an exclusive holder waits for every shared holder; shared holders do not wait for each other")
    func exclusiveWaitsForShared() {
        let guardLock = ForkGuard.openBLAS
        let entered = Atomic<Int>(0)
        guardLock.lockShared()
        guardLock.lockShared() // a second product at the same time (or nested) does not block
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            guardLock.exclusive { entered.store(1, ordering: .sequentiallyConsistent) }
            done.signal()
        }
        usleep(50_000)
        #expect(entered.load(ordering: .sequentiallyConsistent) == 0, "the exclusive section ran while products held the guard")
        guardLock.unlockShared()
        usleep(20_000)
        #expect(entered.load(ordering: .sequentiallyConsistent) == 0)
        guardLock.unlockShared()
        // The guard is the process's: other suites' products hold it shared meanwhile, and
        // glibc's rwlock prefers readers, so the exclusive section may wait for a gap between
        // them. What is checked is that it runs, not how soon.
        #expect(done.wait(timeout: .now() + 120) == .success)
        #expect(entered.load(ordering: .sequentiallyConsistent) == 1)
    }
}
