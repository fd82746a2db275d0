import Foundation
import KilnData
import KilnIR
import KilnJIT
import KilnPasses
import KilnRuntime
import Testing

/// `kiln compile`: its errors (nothing written), a cross-compiled AArch64 object, and bundles a
/// C program links — 100 training steps driven from C equal to the JIT's, state for state.
@Suite("kiln compile", .serialized)
struct CompileCommandTests {
    static let lenet = repositoryRoot.appendingPathComponent("Graphs/lenet5.kiln").path
    static let examples = repositoryRoot.appendingPathComponent("Examples/Bundle").path
    static var dataAvailable: Bool { prerequisite(FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory)) }
    static var ccAvailable: Bool { prerequisite(FileManager.default.isExecutableFile(atPath: "/usr/bin/cc")) }

    /// Runs a program; returns its status and standard output and error together.
    static func run(_ program: String, _ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("bad options are refused before anything runs", arguments: [
        (["-o", ""], "-o needs a directory path"),
        (["-o", "DIR", "--name", "3d"], "must start with a letter"),
        (["-o", "DIR", "--name", "my-model"], "not a C identifier"),
        (["-o", "DIR", "--name", "int"], "C keyword"),
        (["-o", "DIR", "--weights", "both"], "--weights must be embed or file"),
        (["-o", "DIR", "--optimizer", "adam"], "--optimizer needs --train"),
        (["-o", "DIR", "--target", ""], "--target needs a triple"),
        (["-o", "DIR", "--batch", "0"], "--batch must be between 1 and 65536"),
    ])
    func refusedOptions(_ options: [String], _ expected: String) throws {
        let directory = makeTemporaryDirectory()
        let arguments = options.map { $0 == "DIR" ? "\(directory)/bundle" : $0 }
        let result = try runKiln(["compile", Self.lenet] + arguments)
        #expect(result.status == 2)
        #expect(result.err.contains(expected), "\(result.err)")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/bundle"))
    }

    @Test("an unknown triple or CPU, or -o naming a file, is an error and writes nothing", arguments: [
        (["--target", "sparc-sun-solaris"], "target"),
        (["--target", "nonsense-triple-x"], "unknown target triple 'nonsense-triple-x'"),
        (["--cpu", "pentium-9000"], "unknown CPU 'pentium-9000'"),
        (["--target", "aarch64-linux-gnu", "--cpu", "skylake"], "unknown CPU 'skylake' for aarch64-linux-gnu"),
    ])
    func refusedTargets(_ options: [String], _ expected: String) throws {
        let directory = makeTemporaryDirectory()
        let result = try runKiln(["compile", Self.lenet, "-o", "\(directory)/bundle"] + options)
        #expect(result.status == 1)
        #expect(result.err.contains(expected), "\(result.err)")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/bundle"))
    }

    @Test("-o naming an existing file is refused and the file kept")
    func outputIsAFile() throws {
        let directory = makeTemporaryDirectory()
        let file = try writeFile("keep", "plain", in: directory)
        let result = try runKiln(["compile", Self.lenet, "-o", file])
        #expect(result.status == 2)
        #expect(result.err.contains("is not a directory"), "\(result.err)")
        #expect((try? String(contentsOfFile: file, encoding: .utf8)) == "keep")
    }

    @Test("a graph whose name is no C identifier needs --name")
    func graphNameNeedsName() throws {
        let directory = makeTemporaryDirectory()
        let graph = try writeFile("graph _hidden {\n  input x: f32[2, 3]\n  param w: f32[3, 4] = zeros\n  y = matmul(x, w)\n  output y\n}\n",
                                  "g.kiln", in: directory)
        let refused = try runKiln(["compile", graph, "-o", "\(directory)/b"])
        #expect(refused.status == 1)
        #expect(refused.err.contains("--name"), "\(refused.err)")
        let accepted = try runKiln(["compile", graph, "-o", "\(directory)/b", "--name", "two_layer", "--weights", "file"])
        #expect(accepted.status == 0, "\(accepted.err)")
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(directory)/b").sorted()
        #expect(files == ["libtwo_layer.a", "two_layer.h", "two_layer.o", "two_layer.safetensors", "two_layer_runtime.c"])
    }

    @Test("--batch re-specialises the graph: the header lists the new shapes")
    func batch() throws {
        let directory = makeTemporaryDirectory()
        let result = try runKiln(["compile", Self.lenet, "-o", directory, "--batch", "100"])
        #expect(result.status == 0, "\(result.err)")
        let header = try String(contentsOfFile: "\(directory)/lenet5.h", encoding: .utf8)
        #expect(header.contains(" *   0: x f32[100, 1, 28, 28]") && header.contains(" *   0: logits f32[100, 10]"), "\(header.prefix(600))")
    }

    @Test("--target aarch64-linux-gnu writes an AArch64 object and library")
    func crossCompiles() throws {
        let directory = makeTemporaryDirectory()
        let result = try runKiln(["compile", Self.lenet, "-o", directory, "--target", "aarch64-linux-gnu"])
        #expect(result.status == 0, "\(result.err)")
        let file = try Self.run("/usr/bin/file", ["\(directory)/lenet5.o"])
        #expect(file.output.contains("ELF 64-bit LSB relocatable, ARM aarch64"), "\(file.output)")
        let objdump = try Self.run("/usr/bin/llvm-objdump", ["-d", "--triple=aarch64-linux-gnu", "\(directory)/lenet5.o"])
        #expect(objdump.status == 0)
        #expect(objdump.output.contains("<lenet5_step>:"))
        #expect(objdump.output.contains("fmla") || objdump.output.contains("fmul"), "no AArch64 floating-point instructions")
        let archive = try Self.run("/usr/bin/llvm-objdump", ["-t", "\(directory)/liblenet5.a"])
        #expect(archive.output.contains("lenet5_step") && archive.output.contains("lenet5_weights"), "\(archive.output.prefix(400))")
    }

    @Test("bundles share the JIT's object cache: a second compile reuses the object; kiln cache --clear empties it")
    func objectCache() throws {
        let directory = makeTemporaryDirectory()
        let environment = ["KILN_CACHE_DIR": "\(directory)/cache"]
        let first = try runKiln(["compile", Self.lenet, "-o", "\(directory)/a"], environment: environment)
        #expect(first.status == 0 && first.out.contains("compiled in"), "\(first.out)\(first.err)")
        let second = try runKiln(["compile", Self.lenet, "-o", "\(directory)/b"], environment: environment)
        #expect(second.status == 0 && second.out.contains("from the object cache"), "\(second.out)\(second.err)")
        let a = try #require(FileManager.default.contents(atPath: "\(directory)/a/liblenet5.a"))
        #expect(a == FileManager.default.contents(atPath: "\(directory)/b/liblenet5.a"))
        let listed = try runKiln(["cache"], environment: environment)
        #expect(listed.out.contains("1 objects, 0 step records"), "\(listed.out)")
        let cleared = try runKiln(["cache", "--clear"], environment: environment)
        #expect(cleared.out.contains("removed 1 objects"), "\(cleared.out)")
        let third = try runKiln(["compile", Self.lenet, "-o", "\(directory)/a"], environment: environment)
        #expect(third.status == 0 && third.out.contains("compiled in"), "\(third.out)\(third.err)")
    }

    /// Compiles `bundle`'s runtime and `program` (an Examples/Bundle source) with cc, warnings as errors.
    static func build(_ program: String, bundle directory: String, name: String) throws -> String {
        let binary = "\(directory)/\(program)"
        let cc = try run("/usr/bin/cc", ["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", directory, "-I", examples,
                                         "-o", binary, "\(examples)/\(program).c", "\(directory)/\(name)_runtime.c",
                                         "-L", directory, "-l\(name)", "-lopenblas", "-lz", "-lm", "-lpthread"])
        #expect(cc.status == 0, "\(cc.output)")
        return binary
    }

    @Test("100 training steps from C equal the JIT's, state for state",
          .enabled(if: dataAvailable && ccAvailable))
    func trainingStepsFromC() throws {
        let directory = makeTemporaryDirectory()
        let optimizer = "adam:lr=0.002"
        let compiled = try runKiln(["compile", Self.lenet, "--train", "loss", "--optimizer", optimizer, "--name", "lenet5_train", "-o", directory])
        #expect(compiled.status == 0, "\(compiled.err)")
        let binary = try Self.build("train", bundle: directory, name: "lenet5_train")
        let trained = try Self.run(binary, [FashionMNIST.defaultDirectory, "\(directory)/c.safetensors", "100"])
        #expect(trained.status == 0, "\(trained.output)")
        let fromC = try SafetensorsFormat.read(path: "\(directory)/c.safetensors").tensors

        // The JIT on the same graph, initial state, batches (file order) and step numbers.
        let forward = try ShapeInference().run(try Parser.parse(String(contentsOfFile: Self.lenet, encoding: .utf8), file: Self.lenet))
        var g = try TrainingStep(loss: "loss", optimizer: try Optimizer.parse(optimizer)).run(forward)
        g = try MemoryPlanner().run(try Fusion().run(try Simplify().run(g)))
        let backend = try JITBackend(graph: g)
        var state = initialState(for: g, seed: 0)
        let data = try FashionMNIST.load(train: true, limit: 6400)
        let (images, labels) = (try #require(data[FashionMNIST.imagesArray]), try #require(data[FashionMNIST.labelsArray]))
        for step in 0..<100 {
            let x = Tensor(Shape([64, 1, 28, 28]), floats: Array(UnsafeBufferPointer(start: images.floatPointer + step * 64 * 784, count: 64 * 784)))
            let y = Tensor(Shape([64]), ints: Array(UnsafeBufferPointer(start: labels.intPointer + step * 64, count: 64)))
            _ = try backend.run(inputs: ["x": x, "labels": y, TrainingStep.learningRateInput: .scalar(0.002)], state: &state, step: step)
        }
        #expect(fromC.count == g.params.count)
        for param in g.params {
            let a = try #require(fromC[param.name], "C wrote no \(param.name)")
            let b = try #require(state[param.name])
            #expect(a.type == b.type)
            let (fa, fb) = (a.floats, b.floats)
            let scale = fb.reduce(Float(0)) { Swift.max($0, abs($1)) }
            let worst = zip(fa, fb).reduce(Float(0)) { Swift.max($0, abs($1.0 - $1.1)) }
            #expect(worst <= 1e-5 * Swift.max(scale, 1), "\(param.name): C and JIT differ by \(worst) (scale \(scale))")
        }
        // The params moved: equal initial states would pass the comparison too.
        let initial = initialState(for: g, seed: 0)
        #expect(fromC["w3"]?.floats != initial["w3"]?.floats)
    }

    @Test("the C API reports bad data and bad sizes with codes and messages",
          .enabled(if: ccAvailable))
    func errorsFromC() throws {
        let directory = makeTemporaryDirectory()
        let compiled = try runKiln(["compile", Self.lenet, "--train", "loss", "--name", "lenet5_train", "-o", directory, "--weights", "file"])
        #expect(compiled.status == 0, "\(compiled.err)")
        let binary = try Self.build("errors", bundle: directory, name: "lenet5_train")
        var tensors = try SafetensorsFormat.read(path: "\(directory)/lenet5_train.safetensors").tensors
        tensors["c2"] = Tensor(zeros: TensorType(.f32, [16, 6, 3, 3]))
        try SafetensorsFormat.write(tensors, to: "\(directory)/wrong.safetensors")
        let result = try Self.run(binary, ["\(directory)/lenet5_train.safetensors", "\(directory)/missing.safetensors", "\(directory)/wrong.safetensors"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("no weights: 3 bundle lenet5_train keeps its weights in lenet5_train.safetensors"), "\(result.output)")
        #expect(result.output.contains("missing file: 3 cannot open weights"), "\(result.output)")
        #expect(result.output.contains("wrong shape: 3 '\(directory)/wrong.safetensors': param 'c2' has another shape than the bundle's"), "\(result.output)")
        #expect(result.output.contains("wrong size: 1 set_input 'x': 12 bytes given, it holds 200704"), "\(result.output)")
        #expect(result.output.contains("bad label: 4 ") && result.output.contains("label 12"), "\(result.output)")
        #expect(result.output.contains("step after bad label: 0"), "\(result.output)")
        #expect(result.output.contains("unknown input: 1 set_input: no tensor named 'nope'"), "\(result.output)")
    }
}
