import CMPI
import Foundation
import KilnIR
import KilnSupport

/// The MPI world this process belongs to: rank, size and the collectives data-parallel
/// training needs (in-place float32 sum all-reduce, broadcast, barrier), over Open MPI's C API.
///
/// Errors are returned, not fatal: the communicator sets `MPI_ERRORS_RETURN`, and a failed
/// call becomes a `Diagnostic` naming this rank, the call and MPI's own message. A peer that
/// dies without MPI noticing (a hung network) is caught by `Watchdog`: a collective that has
/// not finished after `timeoutSeconds` ends the process with a message instead of hanging.
///
/// MPI can be initialised once per process; `shared()` initialises it on first use and
/// `finalize()` shuts it down (after which no collective may run).
public final class Communicator {
    /// This process's rank in MPI_COMM_WORLD (0 ..< size).
    public let rank: Int
    /// How many processes the job has.
    public let size: Int
    /// How long a collective may take before the watchdog ends the process (default 300 s,
    /// or `KILN_MPI_TIMEOUT` seconds; 0 turns the watchdog off).
    public let timeoutSeconds: Double
    /// Seconds spent inside all-reduce calls (including waiting for slower ranks).
    public private(set) var allReduceSeconds = 0.0
    /// Bytes all-reduced so far (each rank's contribution).
    public private(set) var allReducedBytes = 0
    private let watchdog: Watchdog?
    private var finalized = false

    nonisolated(unsafe) private static var instance: Communicator?

    /// The process's communicator, initialising MPI on first call.
    public static func shared() throws -> Communicator {
        if let instance { return instance }
        let made = try Communicator()
        instance = made
        return made
    }

    private init() throws {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        if flag == 0 {
            // Only the calling thread uses MPI (the watchdog never does): FUNNELED suffices.
            var provided: Int32 = 0
            // Open MPI's singleton mode forks its daemon here: no OpenBLAS product may be running.
            let code = ForkGuard.openBLAS.exclusive { MPI_Init_thread(nil, nil, kiln_mpi_thread_funneled(), &provided) }
            guard code == kiln_mpi_success() else { throw Self.error(code, call: "MPI_Init_thread", rank: -1) }
        }
        let world = kiln_mpi_comm_world()
        // Failures come back as codes we turn into Kiln errors, instead of MPI aborting the job.
        MPI_Comm_set_errhandler(world, kiln_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        rank = Int(r)
        size = Int(s)
        let configured = ProcessInfo.processInfo.environment["KILN_MPI_TIMEOUT"].flatMap(Double.init)
        timeoutSeconds = configured ?? 300
        watchdog = timeoutSeconds > 0 ? Watchdog(rank: rank, timeout: timeoutSeconds) : nil
    }

    /// Sums `count` floats at `buffer` across every rank, in place: afterwards every rank holds
    /// the same sums (MPI_Allreduce with MPI_IN_PLACE, MPI_SUM, MPI_FLOAT).
    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        guard count > 0 else { return }
        try checkOpen("MPI_Allreduce")
        // MPI counts are C ints; buckets are far smaller, but a caller's buffer might not be.
        guard count <= Int(Int32.max) else { throw Diagnostic("MPI rank \(rank): MPI_Allreduce of \(count) floats exceeds MPI's int count; split it") }
        let start = monotonicSeconds()
        let code = try guarded("MPI_Allreduce") {
            MPI_Allreduce(kiln_mpi_in_place(), buffer, Int32(count), kiln_mpi_float(), kiln_mpi_sum(), kiln_mpi_comm_world())
        }
        allReduceSeconds += monotonicSeconds() - start
        allReducedBytes += count * MemoryLayout<Float>.size
        try check(code, "MPI_Allreduce of \(count) floats")
    }

    /// Sums doubles across every rank, in place (metrics: loss sums, correct counts).
    public func allReduceSum(_ values: inout [Double]) throws {
        guard !values.isEmpty else { return }
        try checkOpen("MPI_Allreduce")
        let count = Int32(values.count)
        let code = try guarded("MPI_Allreduce") {
            values.withUnsafeMutableBufferPointer {
                MPI_Allreduce(kiln_mpi_in_place(), $0.baseAddress, count, kiln_mpi_double(), kiln_mpi_sum(), kiln_mpi_comm_world())
            }
        }
        try check(code, "MPI_Allreduce of \(values.count) doubles")
    }

    /// Copies `count` floats at `buffer` from rank `root` to every rank (MPI_Bcast).
    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int = 0) throws {
        guard count > 0 else { return }
        try checkOpen("MPI_Bcast")
        guard count <= Int(Int32.max) else { throw Diagnostic("MPI rank \(rank): MPI_Bcast of \(count) floats exceeds MPI's int count; split it") }
        let code = try guarded("MPI_Bcast") {
            MPI_Bcast(buffer, Int32(count), kiln_mpi_float(), Int32(root), kiln_mpi_comm_world())
        }
        try check(code, "MPI_Bcast of \(count) floats from rank \(root)")
    }

    /// Copies a few doubles from rank `root` to every rank.
    public func broadcast(_ values: inout [Double], root: Int = 0) throws {
        guard !values.isEmpty else { return }
        try checkOpen("MPI_Bcast")
        let count = Int32(values.count)
        let code = try guarded("MPI_Bcast") {
            values.withUnsafeMutableBufferPointer {
                MPI_Bcast($0.baseAddress, count, kiln_mpi_double(), Int32(root), kiln_mpi_comm_world())
            }
        }
        try check(code, "MPI_Bcast of \(values.count) doubles from rank \(root)")
    }

    /// Waits until every rank has reached this call (MPI_Barrier).
    public func barrier() throws {
        try checkOpen("MPI_Barrier")
        let code = try guarded("MPI_Barrier") { MPI_Barrier(kiln_mpi_comm_world()) }
        try check(code, "MPI_Barrier")
    }

    /// Ends MPI for this process (MPI_Finalize); later collectives are errors.
    public func finalize() throws {
        guard !finalized else { return }
        finalized = true
        watchdog?.stop()
        let code = MPI_Finalize()
        try check(code, "MPI_Finalize")
    }

    /// Ends every rank of the job (MPI_Abort), for an error on one rank that the others
    /// would otherwise wait on forever in their next collective.
    public func abort(code: Int32 = 1) -> Never {
        MPI_Abort(kiln_mpi_comm_world(), code)
        exit(code)
    }

    /// Resets the all-reduce counters (benchmarks measure one phase at a time).
    public func resetCounters() {
        allReduceSeconds = 0
        allReducedBytes = 0
    }

    private func checkOpen(_ call: String) throws {
        if finalized { throw Diagnostic("MPI rank \(rank): \(call) after MPI_Finalize") }
    }

    /// Runs one blocking MPI call under the watchdog.
    private func guarded(_ call: String, _ body: () throws -> Int32) throws -> Int32 {
        watchdog?.begin(call)
        defer { watchdog?.end() }
        return try body()
    }

    private func check(_ code: Int32, _ what: String) throws {
        guard code != kiln_mpi_success() else { return }
        throw Self.error(code, call: what, rank: rank)
    }

    /// A Kiln error for MPI error `code`, with MPI's message and the rank.
    static func error(_ code: Int32, call: String, rank: Int) -> Diagnostic {
        var text = [CChar](repeating: 0, count: Int(kiln_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let message = String(decoding: text.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let who = rank >= 0 ? "MPI rank \(rank)" : "MPI"
        return Diagnostic("\(who): \(call) failed (error \(code): \(message)); a peer rank may have died or the network failed")
    }
}
