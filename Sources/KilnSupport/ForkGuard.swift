import Foundation

/// OpenBLAS stops its worker threads in a `pthread_atfork` handler; a product running inside
/// OpenBLAS on another thread at that moment then waits for those threads forever. Seen once as
/// a hung test run (one test's sgemm spinning in OpenBLAS's `exec_blas`, no OpenBLAS thread
/// left, after the MPI tests' `MPI_Init` — Open MPI's singleton mode forks its daemon). Calls
/// into OpenBLAS hold this lock shared; code that may fork holds it exclusively.
public final class ForkGuard: @unchecked Sendable {
    /// The process's one guard.
    public static let openBLAS = ForkGuard()

    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    private init() {
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
    }

    /// Any number of callers at once (OpenBLAS products).
    public func lockShared() { pthread_rwlock_rdlock(lock) }
    public func unlockShared() { pthread_rwlock_unlock(lock) }

    /// `body` while no shared holder runs (a call that may fork).
    public func exclusive<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
