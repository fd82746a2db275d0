import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnJIT

/// Bundles below the command line: the header (golden), names, the archive, the weights.
struct BundleCompilerTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// A small classifier's training step, planned as `kiln compile --train` plans it.
    static func trainingGraph() throws -> Graph {
        let text = """
            graph tiny {
              input x: f32[4, 3]
              input labels: i32[4]
              param w: f32[3, 2] = glorot_uniform
              param b: f32[2] = zeros
              logits = add(matmul(x, w), b)
              loss = softmax_cross_entropy(logits, labels)
              output loss as loss
              output logits as logits
            }
            """
        let forward = try ShapeInference().run(try Parser.parse(text, file: "tiny.kiln"))
        let step = try TrainingStep(loss: "loss", optimizer: try Optimizer.parse("momentum:lr=0.1")).run(forward)
        return try MemoryPlanner().run(try Fusion().run(try Simplify().run(step)))
    }

    static func bundle(embed: Bool = true) throws -> (graph: Graph, bundle: CompiledBundle) {
        let g = try trainingGraph()
        let options = BundleOptions(name: "tiny", embedWeights: embed, defaults: [TrainingStep.learningRateInput: 0.1])
        return (g, try BundleCompiler.compile(g, state: initialState(for: g, seed: 1), options: options))
    }

    @Test("the header of a training bundle (golden)")
    func headerGolden() throws {
        let (_, bundle) = try Self.bundle()
        let header = try #require(bundle.files.first { $0.name == "tiny.h" })
        let text = String(decoding: header.bytes, as: UTF8.self)
        let expected = try String(contentsOf: Self.golden.appendingPathComponent("bundle_tiny.h"), encoding: .utf8)
        #expect(text == expected)
    }

    @Test("embedded weights: an archive of the kernels and the blob; file weights: safetensors of every param")
    func weightsAndArchive() throws {
        let (g, embedded) = try Self.bundle()
        #expect(embedded.files.map(\.name).sorted() == ["libtiny.a", "tiny.h", "tiny.o", "tiny_runtime.c", "tiny_weights.o"])
        let archive = try #require(embedded.files.first { $0.name == "libtiny.a" }).bytes
        #expect(archive.starts(with: Array("!<arch>\n/               ".utf8)))
        let text = String(decoding: archive, as: UTF8.self)
        #expect(text.contains("tiny_step\u{0}tiny_weights\u{0}") && text.contains("kernels.o/") && text.contains("weights.o/"))
        let (_, file) = try Self.bundle(embed: false)
        let weights = try #require(file.files.first { $0.name == "tiny.safetensors" })
        let tensors = try SafetensorsFormat.decode(weights.bytes, name: "tiny.safetensors").tensors
        #expect(Set(tensors.keys) == Set(g.params.map(\.name)))
        #expect(tensors["w"]?.floats == initialState(for: g, seed: 1)["w"]?.floats)
        #expect(!file.files.contains { $0.name == "tiny_weights.o" })
    }

    @Test("bundle names are C identifiers", arguments: [
        ("lenet5", true), ("my_model", true), ("", false), ("5net", false), ("_hidden", false), ("a-b", false), ("int", false),
        ("main", false), ("ünï", false), ("kiln_tensor", false), ("kb_pool", false), ("size_t", false), ("timespec", false), ("b", true), ("data", true), (String(repeating: "a", count: 65), false),
    ])
    func names(_ name: String, _ valid: Bool) {
        #expect((BundleOptions.problem(withName: name) == nil) == valid)
    }

    @Test("a param missing from the state or of another type is an error")
    func missingState() throws {
        let g = try Self.trainingGraph()
        var state = initialState(for: g, seed: 1)
        state["w"] = nil
        #expect(throws: Diagnostic.self) { try BundleCompiler.compile(g, state: state, options: BundleOptions(name: "tiny")) }
        state["w"] = Tensor(zeros: TensorType(.f32, [2, 3]))
        #expect(throws: Diagnostic.self) { try BundleCompiler.compile(g, state: state, options: BundleOptions(name: "tiny")) }
    }

    @Test("C string literals escape quotes, backslashes, trigraph marks and non-ASCII")
    func quoting() {
        #expect(BundleRuntime.quoted("a\"b\\c??=é") == "\"a\\\"b\\\\c\\077\\077=\\303\\251\"")
    }
}
