import Foundation
import KilnIR
import Testing

enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var graphFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Graphs").path)) ?? [])
            .filter { $0.hasSuffix(".kiln") }.sorted()
    }
    static func graph(_ file: String) throws -> Graph {
        try inferTypes(try Parser.parse(try String(contentsOf: root.appendingPathComponent("Graphs/\(file)"), encoding: .utf8), file: file))
    }
}

struct RoundTripTests {
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

    @Test("random graphs round-trip", arguments: 0..<200)
    func random(_ seed: Int) throws {
        let graph = try RandomGraphs.make(seed: UInt64(seed))
        let text = graph.text
        let reparsed = try inferTypes(try Parser.parse(text))
        #expect(reparsed == graph, "seed \(seed)\n\(text)")
        #expect(reparsed.text == text)
    }
}

/// Seeded random valid graphs built through GraphBuilder: elementwise chains with broadcasting,
/// matmuls, reductions with attributes, layout ops, constants of every sign and exponent,
/// params of every initialiser, state with updates, several outputs.
enum RandomGraphs {
    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
    }

    static func make(seed: UInt64) throws -> Graph {
        var g = Generator(state: seed &+ 1)
        var b = GraphBuilder(name: "random\(seed)", infersTypes: true)
        let rows = 1 + g.next(4), cols = 1 + g.next(5)
        try b.addInput("x", TensorType(.f32, [rows, cols]))
        let initialisers: [Initializer] = [.zeros, .ones, .constant(-0.5), .uniform(-1, 2.5e-3), .normal(mean: 0, std: 0.02), .glorotUniform, .heNormal]
        try b.addParam("w", TensorType(.f32, [cols, cols]), initialisers[g.next(initialisers.count)])
        try b.addParam("bias", TensorType(.f32, [cols]), initialisers[g.next(initialisers.count)])
        try b.addParam("counter", TensorType(.f32, .scalar), .zeros, role: .state)
        var values = ["x"]
        for _ in 0..<(3 + g.next(10)) {
            let a = values[g.next(values.count)]
            let unary: [OpKind] = [.exp, .tanh, .relu, .neg, .sigmoid, .square, .abs]
            switch g.next(7) {
            case 0: values.append(try b.add(unary[g.next(unary.count)], [a]))
            case 1: values.append(try b.add([.add, .mul, .sub, .max][g.next(4)], [a, values[g.next(values.count)]]))
            case 2: values.append(try b.add(.add, [a, "bias"]))
            case 3: values.append(try b.add(.matmul, [a, "w"]))
            case 4:
                let constant = try b.add(.constant, [], [("value", .float([-1.5, 2e-8, 3.0, 0.1, -7e5][g.next(5)]))])
                values.append(try b.add(.mul, [a, constant]))
            case 5: values.append(try b.add(.leaky_relu, [a], [("alpha", .float(0.25))]))
            default:
                let t = try b.add(.transpose, [a], [("perm", .ints([1, 0]))])
                values.append(try b.add(.transpose, [t], [("perm", .ints([1, 0]))], name: b.freeName("back")))
            }
        }
        let last = values[values.count - 1]
        let reduced = try b.add(.reduce_sum, [last], [("axes", .ints([g.next(2)])), ("keep_dims", .bool(g.next(2) == 1))])
        try b.addOutput(last)
        if last != reduced { try b.addOutput(reduced) }
        let one = try b.add(.constant, [], [("value", .float(1))])
        let next = try b.add(.add, ["counter", one], name: "next_counter")
        try b.addUpdate("counter", next)
        return b.graph
    }
}
