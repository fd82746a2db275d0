import ArgumentParser
import Foundation
import KilnDistributed
import KilnSupport

/// `mpirun -np N kiln allreduce-bench`: the latency and bandwidth of MPI_Allreduce (float32
/// sum, in place) over message sizes, for the scaling model in Docs/DISTRIBUTED.md.
struct AllReduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce-bench",
        abstract: "Measure MPI_Allreduce time over message sizes (run under mpirun; rank 0 prints a table).")

    @Option(help: "Comma-separated message sizes in bytes.")
    var sizes: String = "4,1024,65536,262144,1048576,4194304"

    @Option(parsing: .unconditional, help: "Repetitions per size (after 3 warm-up calls).")
    var repeats: Int = 20

    func run() throws {
        try reportingErrors {
            let parsed = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0 >= 4 && $0 <= 1 << 30 }) else { throw CLIError("--sizes: byte counts between 4 and 2^30") }
            guard (1...100_000).contains(repeats) else { throw CLIError("--repeats must be between 1 and 100000") }
            let world = try Communicator.shared()
            if world.rank == 0 { print("ranks\tbytes\tmean_us\tmin_us\talgbw_MBps\tbusbw_MBps") }
            for bytes in parsed {
                var buffer = [Float](repeating: 1, count: bytes / 4)
                var times: [Double] = []
                for i in 0..<(repeats + 3) {
                    try world.barrier()
                    let start = monotonicSeconds()
                    try buffer.withUnsafeMutableBufferPointer {
                        guard let base = $0.baseAddress else { return }
                        try world.allReduceSum(base, count: $0.count)
                    }
                    if i >= 3 { times.append(monotonicSeconds() - start) }
                }
                // Each call's time averaged over the ranks (they leave the collective together,
                // give or take the barrier's skew).
                var sums = times
                try world.allReduceSum(&sums)
                let perCall = sums.map { $0 / Double(world.size) }
                let mean = perCall.reduce(0, +) / Double(perCall.count), best = perCall.min() ?? mean
                let n = Double(world.size)
                // busbw: the ring's per-link traffic 2(N−1)/N · bytes per unit time (NCCL's convention).
                let algbw = Double(bytes) / mean / 1e6, busbw = algbw * 2 * (n - 1) / max(n, 1)
                if world.rank == 0 {
                    print(String(format: "%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f", world.size, bytes, mean * 1e6, best * 1e6, algbw, busbw))
                }
            }
            try world.finalize()
        }
    }
}
