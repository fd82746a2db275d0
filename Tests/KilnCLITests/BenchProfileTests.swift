import Foundation
import Testing

/// `kiln bench --profile`'s JIT table (Docs/BENCHMARKS.md, "Kernels against the machine's
/// limit"): the machine's measured peaks, then one row per kernel function with its time, share,
/// calls per step, GFLOP/s and GB/s. The numbers are measurements; what is checked is that they
/// are consistent with each other and with the graph, not how fast anything ran.
struct BenchProfileTests {
    struct Row {
        var milliseconds: Double
        var share: Double
        var calls: Int
        var gflops: Double?
        var kernel: String
    }

    /// The peaks line and every row of the JIT table in `output`.
    static func table(_ output: String) throws -> (peaks: (gflops: Double, gbs: Double), rows: [Row]) {
        let lines = output.split(separator: "\n").map(String.init)
        let peaksLine = try #require(lines.first { $0.hasPrefix("machine peaks, measured now with generated code:") })
        let peakNumbers = peaksLine.split(separator: " ").compactMap { Double($0) }
        try #require(peakNumbers.count == 2, "\(peaksLine)")
        let header = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("time  share  calls  GFLOP/s") })
        var rows: [Row] = []
        for line in lines[(header + 1)...] {
            let f = line.split(separator: " ").map(String.init)
            // time "ms" share% calls (GFLOP/s of-peak% | - -) GB/s of-peak% kernel
            guard f.count == 9, f[1] == "ms", let ms = Double(f[0]), let share = Double(f[2].dropLast()), let calls = Int(f[3]) else { break }
            rows.append(Row(milliseconds: ms, share: share, calls: calls, gflops: Double(f[4]), kernel: f[8]))
        }
        return ((peakNumbers[0], peakNumbers[1]), rows)
    }

    @Test("the MLP's table: peaks measured, shares sum to 100%, the first layer's GEMM does 2·128·784·256 flops",
          .enabled(if: prerequisite(FileManager.default.isExecutableFile(atPath: kilnBinary.path)), "needs .build/debug/kiln (swift build)"))
    func mlp() throws {
        let result = try runKiln(["bench", repositoryRoot.appendingPathComponent("Graphs/mlp.kiln").path, "--steps", "3", "--profile", "--top", "1000"])
        #expect(result.status == 0, "\(result.err)")
        let (peaks, rows) = try Self.table(result.out)
        #expect(peaks.gflops > 0 && peaks.gbs > 0)
        #expect(rows.count == 4, "\(result.out)")
        #expect(rows.allSatisfy { $0.calls == 1 })
        #expect(abs(rows.map(\.share).reduce(0, +) - 100) < 0.5)
        // Sorted slowest first.
        #expect(zip(rows, rows.dropFirst()).allSatisfy { $0.milliseconds >= $1.milliseconds })
        // GFLOP/s × time gives back the product's flops (rounding of the printed digits aside).
        let first = try #require(rows.first { $0.kernel.hasSuffix("_k0_fused_matmul_add_relu_gemm6x16") }, "\(result.out)")
        let flops = try #require(first.gflops) * first.milliseconds * 1e6
        #expect(abs(flops / Double(2 * 128 * 784 * 256) - 1) < 0.02, "\(flops)")
        #expect(rows.contains { $0.kernel.hasSuffix("softmax_cross_entropy") && $0.gflops == nil })
    }

    @Test("an unrolled RNN's timesteps share kernel functions: their rows count a call per timestep",
          .enabled(if: prerequisite(FileManager.default.isExecutableFile(atPath: kilnBinary.path)), "needs .build/debug/kiln (swift build)"))
    func sharedFunctions() throws {
        let result = try runKiln(["bench", repositoryRoot.appendingPathComponent("Graphs/rnn.kiln").path, "--steps", "2", "--profile", "--top", "1000"])
        #expect(result.status == 0, "\(result.err)")
        let rows = try Self.table(result.out).rows
        // Graphs/rnn.kiln unrolls 28 timesteps: the recurrent product runs in 27 of them.
        #expect((rows.map(\.calls).max() ?? 0) >= 27, "\(result.out)")
        #expect(rows.contains { $0.calls == 1 })
        #expect(abs(rows.map(\.share).reduce(0, +) - 100) < 0.5)
    }
}
