import Foundation
import KilnRuntime
import Testing

/// `kiln run` end to end (the built binary): refused inputs, missing params, the memory
/// budget, outputs written as a set, plain messages for unusable directories.
@Suite(.serialized)
struct RunCommandTests {
    static let graph = """
        graph g {
          input x: f32[2]
          param w: f32[2] = ones
          param b: f32[2] = zeros
          y = add(mul(x, w), b)
          output y
        }
        """

    func setUp() throws -> (directory: String, graph: String, input: String) {
        let directory = makeTemporaryDirectory()
        let graph = try writeFile(Self.graph, "g.kiln", in: directory)
        try NumPyFormat.write(Tensor([2], floats: [1, 2]), to: directory + "/x.npy")
        return (directory, graph, directory + "/x.npy")
    }

    @Test("--input from /dev/zero, --param from a pipe are refused")
    func nonRegular() throws {
        let (directory, graph, input) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var r = try runKiln(["run", graph, "--input", "x=/dev/zero", "--output-dir", directory + "/o"])
        #expect(r.status == 1)
        #expect(r.err == "error: cannot read '/dev/zero': not a regular file (devices, pipes and sockets are refused)\n")
        r = try runKiln(["run", graph, "--input", "x=\(input)", "--param", "w=/dev/zero", "--output-dir", directory + "/o"])
        #expect(r.err == "error: cannot read '/dev/zero': not a regular file (devices, pipes and sockets are refused)\n")
        r = try runKiln(["run", graph, "--input", "x=\(input)", "--params", "/dev/zero", "--output-dir", directory + "/o"])
        #expect(r.err == "error: cannot read '/dev/zero': not a regular file (devices, pipes and sockets are refused)\n")
        r = try runKiln(["check", "/dev/zero"])
        #expect(r.err == "error: cannot read '/dev/zero': not a regular file (devices, pipes and sockets are refused)\n")
    }

    @Test("an unknown --input name and a --params file missing a param are errors")
    func namesChecked() throws {
        let (directory, graph, input) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var r = try runKiln(["run", graph, "--input", "x=\(input)", "--input", "z=\(input)", "--output-dir", directory + "/o"])
        #expect(r.status == 1)
        #expect(r.err == "error: --input z: the graph has no input 'z' (inputs: x)\n")
        try SafetensorsFormat.write(["w": Tensor([2], floats: [3, 3])], to: directory + "/c.safetensors")
        r = try runKiln(["run", graph, "--input", "x=\(input)", "--params", directory + "/c.safetensors", "--output-dir", directory + "/o"])
        #expect(r.err == "error: --params '\(directory)/c.safetensors' has no 'b' (give it with --param NAME=PATH.npy)\n")
        try NumPyFormat.write(Tensor([2], floats: [1, 1]), to: directory + "/b.npy")
        r = try runKiln(["run", graph, "--input", "x=\(input)", "--params", directory + "/c.safetensors", "--param", "b=\(directory)/b.npy", "--output-dir", directory + "/o"])
        #expect(r.status == 0)
        #expect(try NumPyFormat.read(path: directory + "/o/y.npy").floats == [4, 7])
    }

    @Test("a 40 GB param is refused before allocation, at its declaration")
    func memoryBudget() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let graph = try writeFile("graph big {\n  input x: f32[2]\n  param w: f32[100000, 100000] = zeros\n  y = relu(x)\n  output y\n}\n", "big.kiln", in: directory)
        let r = try runKiln(["run", graph, "--memory-budget", "1G"])
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("\(graph):3:9: error: graph 'big' needs at least 37.25 GiB, more than the memory budget of 1.00 GiB (largest: param 'w' f32[100000, 100000]"))
        let env = try runKiln(["run", graph], environment: ["KILN_MEMORY_BUDGET": "2G"])
        #expect(env.err.contains("memory budget of 2.00 GiB"))
    }

    @Test("an unusable --output-dir is a plain message, and the old outputs stay whole")
    func outputDirectory() throws {
        let (directory, graph, input) = try setUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/file", contents: Data())
        var r = try runKiln(["run", graph, "--input", "x=\(input)", "--output-dir", directory + "/file"])
        #expect(r.err == "error: cannot use '\(directory)/file' as a directory: it exists and is not a directory\n")
        #expect(!r.err.contains("NSCocoaErrorDomain"))
        r = try runKiln(["run", graph, "--input", "x=\(input)", "--output-dir", directory + "/file/sub"])
        #expect(r.err == "error: cannot create directory '\(directory)/file/sub': Not a directory\n")
        r = try runKiln(["run", graph, "--input", "x=\(input)", "--output-dir", directory + "/o"])
        #expect(r.status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/o") == ["y.npy"])
    }

    @Test("with --train, optimiser state missing from --params is initialised with a note")
    func stateNote() throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let graph = try writeFile("graph g {\n  input x: f32[2]\n  param w: f32[2] = ones\n  y = mul(x, w)\n  loss = reduce_sum(y, axes=[0])\n  output loss\n}\n", "g.kiln", in: directory)
        try NumPyFormat.write(Tensor([2], floats: [1, 2]), to: directory + "/x.npy")
        try SafetensorsFormat.write(["w": Tensor([2], floats: [3, 3])], to: directory + "/c.safetensors")
        let r = try runKiln(["run", graph, "--train", "loss", "--optimizer", "momentum", "--input", "x=\(directory)/x.npy",
                             "--params", directory + "/c.safetensors", "--output-dir", directory + "/o"])
        #expect(r.status == 0)
        #expect(r.err == "note: --params '\(directory)/c.safetensors' has no state vel_w; initialised\n")
    }
}
