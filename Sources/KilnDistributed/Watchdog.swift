import Foundation
import KilnSupport

/// Ends the process when one MPI collective blocks longer than `timeout` seconds.
///
/// Open MPI's launcher usually notices a rank that dies and stops the others, but a peer on a
/// host whose network went away (or a launcher that is itself gone) leaves a blocking
/// collective waiting forever. A background thread checks the call in progress twice a
/// second; it never calls MPI itself, so MPI only needs MPI_THREAD_FUNNELED.
final class Watchdog {
    private let rank: Int
    private let timeout: Double
    private let lock = NSLock()
    private var call: String?
    private var started = 0.0
    private var running = true

    init(rank: Int, timeout: Double) {
        self.rank = rank
        self.timeout = timeout
        let thread = Thread { [weak self] in
            while let self, self.poll() { Thread.sleep(forTimeInterval: 0.5) }
        }
        thread.name = "kiln-mpi-watchdog"
        thread.start()
    }

    func begin(_ name: String) {
        lock.lock(); defer { lock.unlock() }
        call = name
        started = monotonicSeconds()
    }

    func end() {
        lock.lock(); defer { lock.unlock() }
        call = nil
    }

    func stop() {
        lock.lock(); defer { lock.unlock() }
        running = false
    }

    /// Whether to keep watching; ends the process when the current call is overdue.
    private func poll() -> Bool {
        lock.lock()
        let keepGoing = running
        let overdue = call.map { (name: $0, seconds: monotonicSeconds() - started) }
        lock.unlock()
        if let overdue, overdue.seconds > timeout {
            FileHandleOutput.standardError.write(
                "error: MPI rank \(rank): \(overdue.name) has not completed after \(Int(overdue.seconds)) s (KILN_MPI_TIMEOUT=\(Int(timeout))); a peer rank probably died or its network is down; exiting\n")
            // _exit: atexit handlers could block in MPI teardown with a peer gone.
            _exit(3)
        }
        return keepGoing
    }
}
