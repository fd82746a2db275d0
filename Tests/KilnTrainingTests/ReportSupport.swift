import Foundation
import KilnData
import KilnIR
import KilnRuntime
import KilnTraining

/// Small graphs and data for the report tests: 4×4 "images" (16 values), so the pictures are
/// drawn, in a temporary directory per test.
enum ReportSupport {
    static let classifierText = """
        graph tinyclass {
          input x: f32[8, 16]
          input labels: i32[8]
          param w: f32[16, 3] = glorot_uniform
          param b: f32[3] = zeros
          logits = add(matmul(x, w), b)
          loss = softmax_cross_entropy(logits, labels)
          output loss as loss
          output logits as logits
        }
        """

    /// An autoencoder whose rebuild is named `recon`, so only its role can tell the report.
    static func autoencoderText(role: String?) -> String {
        """
        graph tinyae {
          input x: f32[8, 16]
          param w: f32[16, 4] = glorot_uniform
          param v: f32[4, 16] = glorot_uniform
          h = relu(matmul(x, w))
          recon = sigmoid(matmul(h, v))
          loss = mse(recon, x)
          output loss as loss
          output recon\(role.map { " as \($0)" } ?? "")
        }
        """
    }

    /// Pixels in [0, 1]; the label is the brightest of the first three pixels.
    static func data(_ n: Int, seed: UInt64 = 9) throws -> Dataset {
        var values: [Float] = [], labels: [Int32] = []
        for i in 0..<n {
            let row = (0..<16).map { j in KilnRandom.uniform(seed: seed, step: UInt64(i), index: UInt64(j)) }
            values += row
            labels.append(Int32(row.prefix(3).indices.max { row[$0] < row[$1] } ?? 0))
        }
        return try Dataset(["x": Tensor([n, 16], floats: values), "labels": Tensor([n], ints: labels)])
    }

    static func images(_ n: Int) throws -> Dataset {
        guard let x = try data(n)["x"] else { throw Diagnostic("no x") }
        return try Dataset(["x": x])
    }

    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "kiln-report-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func read(_ path: String) -> String {
        (FileManager.default.contents(atPath: path)).flatMap { String(data: $0, encoding: .utf8) } ?? ""
    }
}

/// `make test` sets KILN_TEST_REQUIRE_ALL=1: it installs every prerequisite (NumPy, the
/// Debian data sets, Graphviz), so there a missing one must fail, not skip. Elsewhere a test
/// whose prerequisite is missing is skipped with `.enabled(if:)`, which Swift Testing reports
/// as a skip (and `make test` counts), never as a pass.
let prerequisitesRequired = ProcessInfo.processInfo.environment["KILN_TEST_REQUIRE_ALL"] == "1"

/// The `.enabled(if:)` condition for a test that needs `available`: true when it is there,
/// and under `make test` always (the test then runs and fails without it).
func prerequisite(_ available: Bool) -> Bool { available || prerequisitesRequired }
