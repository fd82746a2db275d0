import Foundation
import KilnRuntime
import Testing

/// The on-disk step record (`KilnJIT.StepRecord`) end to end, each process with a cache folder
/// of its own: a second process takes the whole compiled step from the cache and computes what
/// the first did; a kernel failure keeps its source location; a damaged record, a record whose
/// objects are gone and a record written under other settings are not used.
@Suite(.serialized)
struct StepRecordTests {
    static let graph = """
        graph g {
          input x: f32[4, 3]
          input labels: i32[4]
          param w: f32[3, 5] = glorot_uniform
          param b: f32[5] = zeros
          logits = add(matmul(x, w), b)
          loss = softmax_cross_entropy(logits, labels)
          output loss as loss
          output logits as logits
        }
        """

    func setUp() throws -> (directory: String, graph: String) {
        let directory = makeTemporaryDirectory()
        let graph = try writeFile(Self.graph, "g.kiln", in: directory)
        try FileManager.default.createDirectory(atPath: directory + "/cache", withIntermediateDirectories: true)
        return (directory, graph)
    }

    /// `kiln bench`'s first line says where the JIT's step came from; its second, whether the
    /// step agrees with the interpreter's.
    func bench(_ graph: String, cache: String, settings: [String: String] = [:], executable: URL = kilnBinary) throws -> String {
        let r = try runKiln(["bench", graph, "--train", "loss", "--steps", "1", "--warmup", "0"],
                            environment: ["KILN_CACHE_DIR": cache].merging(settings) { $1 }, executable: executable)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("outputs agree: max relative difference") && r.out.contains("(ok)"), "\(r.out)")
        return r.out
    }

    func records(in cache: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix("-step.o") }
    }

    @Test("a second process takes the step from the record and agrees with the interpreter")
    func reused() throws {
        let (directory, graph) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        #expect(try bench(graph, cache: cache).contains("ms (compiled)"))
        #expect(try records(in: cache).count == 1)
        #expect(try bench(graph, cache: cache).contains("ms (step record)"))
        #expect(try runKiln(["cache"], environment: ["KILN_CACHE_DIR": cache]).out.contains(" objects, 1 step records, "))
        // Another setting of the code generator is another key.
        #expect(try bench(graph, cache: cache, settings: ["KILN_POOL": "static"]).contains("ms (object cache)"))
        #expect(try records(in: cache).count == 2)
        // Another build of Kiln (here a copy of the binary: another file) never reads this one's records.
        let copy = URL(fileURLWithPath: directory + "/kiln-copy")
        try copyExecutable(kilnBinary, to: copy)
        #expect(try bench(graph, cache: cache, executable: copy).contains("ms (object cache)"))
        #expect(try bench(graph, cache: cache, executable: copy).contains("ms (step record)"))
    }

    @Test("a damaged record and a record without its objects are not used, and are replaced")
    func damaged() throws {
        let (directory, graph) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = directory + "/cache"
        _ = try bench(graph, cache: cache)
        let record = try #require(try records(in: cache).first)
        var bytes = try #require(FileManager.default.contents(atPath: "\(cache)/\(record)"))
        bytes[bytes.count / 2] ^= 0x5A
        try bytes.write(to: URL(fileURLWithPath: "\(cache)/\(record)"))
        #expect(try bench(graph, cache: cache).contains("ms (object cache)"))
        #expect(try bench(graph, cache: cache).contains("ms (step record)"))
        for object in try FileManager.default.contentsOfDirectory(atPath: cache) where object != record {
            try FileManager.default.removeItem(atPath: "\(cache)/\(object)")
        }
        #expect(try bench(graph, cache: cache).contains("ms (compiled)"))
        #expect(try bench(graph, cache: cache).contains("ms (step record)"))
    }

    @Test("a label out of range is reported at its node by a step taken from the record")
    func failureLocations() throws {
        let (directory, graph) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try NumPyFormat.write(Tensor([4, 3], floats: Array(repeating: 0.5, count: 12)), to: directory + "/x.npy")
        try NumPyFormat.write(Tensor([4], ints: [0, 1, 7, 2]), to: directory + "/labels.npy")
        let arguments = ["run", graph, "--input", "x=\(directory)/x.npy", "--input", "labels=\(directory)/labels.npy",
                         "--output-dir", directory + "/o"]
        let first = try runKiln(arguments, environment: ["KILN_CACHE_DIR": directory + "/cache"])
        #expect(try records(in: directory + "/cache").count == 1)
        let second = try runKiln(arguments, environment: ["KILN_CACHE_DIR": directory + "/cache"])
        #expect(first.status == 1 && second.status == 1)
        #expect(first.err.contains("g.kiln:7:"), "\(first.err)")
        #expect(second.err == first.err)
    }

    @Test("kiln dump --llvm prints the same module when the step comes from a record")
    func moduleText() throws {
        let (directory, graph) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = ["KILN_CACHE_DIR": directory + "/cache"]
        let first = try runKiln(["dump", graph, "--train", "loss", "--llvm"], environment: environment)
        #expect(try records(in: directory + "/cache").count == 1)
        let second = try runKiln(["dump", graph, "--train", "loss", "--llvm"], environment: environment)
        #expect(first.status == 0 && first.out.contains("define void @kiln1_"))
        #expect(second.out == first.out)
    }
}
