import Foundation
import KilnIR
import KilnTestSupport
import Testing

enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// A listing that fails yields one case naming the error (which then fails), never an empty list.
    static var graphFiles: [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Graphs").path)
                .filter { $0.hasSuffix(".kiln") }.sorted()
        } catch {
            return ["<cannot list Graphs/: \(error)>"]
        }
    }
    static func graph(_ file: String) throws -> Graph {
        try inferTypes(try Parser.parse(try String(contentsOf: root.appendingPathComponent("Graphs/\(file)"), encoding: .utf8), file: file))
    }
}

struct RoundTripTests {
    @Test("the zoo list is Graphs/, not empty")
    func zooIsListed() {
        #expect(Repository.graphFiles.count >= 20 && Repository.graphFiles.contains("mlp.kiln"), "Graphs/ lists \(Repository.graphFiles)")
    }

    @Test("every Graphs/ file: print → parse gives an equal graph and the same text", arguments: Repository.graphFiles)
    func zoo(_ file: String) throws {
        let graph = try Repository.graph(file)
        let text = graph.text
        let reparsed = try Parser.parse(text)
        #expect(reparsed == graph)
        #expect(reparsed.text == text)
        #expect(graph.text == text, "printing is deterministic")
    }

    @Test("typed dumps of mlp and lenet5 are exactly the expected text", arguments: ["mlp", "lenet5"])
    func golden(_ name: String) throws {
        let expectedURL = try #require(Bundle.module.resourceURL).appendingPathComponent("Expected/\(name).typed.kiln")
        let expected = try String(contentsOf: expectedURL, encoding: .utf8)
        #expect(try Repository.graph("\(name).kiln").text == expected)
    }

    @Test("LeNet-5 shapes: first convolution and the flatten")
    func lenetShapes() throws {
        let types = try Repository.graph("lenet5.kiln").valueTypes
        #expect(types["%0"] == TensorType(.f32, [64, 6, 28, 28]))
        #expect(types["flat"] == TensorType(.f32, [64, 400]))
        #expect(types["pool2"] == TensorType(.f32, [64, 16, 5, 5]))
        #expect(types["loss"] == TensorType(.f32, .scalar))
    }

    @Test("the course graphs type as the worked examples need")
    func courseGraphs() throws {
        let perceptron = try Repository.graph("perceptron.kiln")
        #expect(perceptron.valueTypes["y"] == TensorType(.f32, [1, 1]))
        #expect(perceptron.param(named: "b")?.initializer == .constant(1))
        let xor = try Repository.graph("xor_mlp.kiln").valueTypes
        #expect(xor["h"] == TensorType(.f32, [4, 4]) && xor["prob"] == TensorType(.f32, [4, 1]) && xor["loss"] == TensorType(.f32, .scalar))
        let regression = try Repository.graph("linear_regression.kiln").valueTypes
        #expect(regression["prediction"] == TensorType(.f32, [4, 1]) && regression["loss"] == TensorType(.f32, .scalar))
    }

    static let seeds = 0..<300

    @Test("random graphs: print → parse → print is identical and the graph is equal", arguments: seeds)
    func random(_ seed: Int) throws {
        let graph = try RandomGraphGenerator.make(seed: UInt64(seed))
        try Verifier().verify(graph)
        let text = graph.text
        let reparsed = try inferTypes(try Parser.parse(text))
        #expect(reparsed == graph, "seed \(seed)\n\(text)")
        #expect(reparsed.text == text)
        #expect(try RandomGraphGenerator.make(seed: UInt64(seed)).text == text, "generation and printing are deterministic")
    }

    @Test("random graphs written with nested calls and literals parse to the same graph", arguments: seeds)
    func randomNested(_ seed: Int) throws {
        let graph = try RandomGraphGenerator.make(seed: UInt64(seed))
        let nested = NestedText(graph).text { ($0 + seed) % 3 != 0 }
        let reparsed = try inferTypes(try Parser.parse(nested, file: "nested.kiln"))
        #expect(reparsed == graph, "seed \(seed)\n\(nested)\nflat:\n\(graph.text)")
    }

    @Test("the random graphs use every op of the op table, every initializer, state updates and nesting")
    func randomCoverage() throws {
        var ops = Set<OpKind>(), initializers = Set<String>(), folded = 0, multipleOutputs = 0
        for seed in Self.seeds {
            let graph = try RandomGraphGenerator.make(seed: UInt64(seed))
            for node in graph.nodes { ops.insert(node.op); for inner in node.region ?? [] { ops.insert(inner.op) } }
            for param in graph.params { initializers.insert(param.initializer.description.prefix { $0 != "(" }.description) }
            #expect(!graph.updates.isEmpty)
            folded += NestedText(graph).foldedCount
            if graph.outputs.count > 1 { multipleOutputs += 1 }
        }
        #expect(Set(OpKind.allCases).subtracting(ops).isEmpty, "never generated: \(Set(OpKind.allCases).subtracting(ops).map(\.name).sorted())")
        #expect(initializers == ["zeros", "ones", "constant", "uniform", "normal", "glorot_uniform", "he_normal", "glorot_normal", "he_uniform"])
        #expect(folded > 1000)
        #expect(multipleOutputs > 50)
    }
}
