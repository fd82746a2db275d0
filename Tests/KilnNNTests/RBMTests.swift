import KilnData
import KilnIR
import KilnNN
import KilnRuntime
import KilnTraining
import Testing

/// `RBM(visible:hidden:k:persistent:)`: the Gibbs chain written into the graph, CD-k against
/// PCD-k, the outputs the report and the epoch lines read, and learning.
struct RBMTests {
    /// Every value `name` is computed from (operands, transitively), with inputs and params.
    static func ancestors(of name: String, in graph: Graph) -> Set<String> {
        let byName = Dictionary(graph.nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>(), pending = [name]
        while let next = pending.popLast() {
            for operand in byName[next]?.operands ?? [] where seen.insert(operand).inserted { pending.append(operand) }
        }
        return seen
    }

    @Test("k Gibbs steps are unrolled: 2k + 1 bernoulli samplers, h_chain1…k and v_chain1…k", arguments: [1, 3, 5])
    func unrolled(_ k: Int) throws {
        let graph = try RBM(visible: 16, hidden: 4, k: k).graph(batch: 8)
        #expect(graph.nodes.filter { $0.op == .bernoulli }.count == 2 * k + 1)
        let names = Set(graph.nodes.map(\.name))
        for step in 1...k { #expect(names.contains("h_chain\(step)") && names.contains("v_chain\(step)")) }
        #expect(!names.contains("h_chain\(k + 1)"))
        // The negative phase reads the last visible sample of the chain.
        #expect(Self.ancestors(of: "v_model", in: graph).contains("v_chain\(k)"))
        #expect(graph.name == "rbm_cd\(k)")
    }

    @Test("CD-k starts its chain at the data; PCD-k continues a persistent state and writes it back", arguments: [false, true])
    func chainStart(_ persistent: Bool) throws {
        let graph = try RBM(visible: 16, hidden: 4, k: 2, persistent: persistent).graph(batch: 8)
        let first = Self.ancestors(of: "h_chain1", in: graph)
        #expect(first.contains("chain") == persistent)
        #expect(first.contains("v_data") == !persistent)
        #expect(graph.params.contains { $0.name == "chain" && $0.role == .state } == persistent)
        #expect(graph.updates.map(\.target) == (persistent ? ["chain"] : []))
        #expect(graph.updates.map(\.value) == (persistent ? ["v_model"] : []))
    }

    @Test("outputs: the loss, the chain's samples (as sample), the reconstruction, its error and the free energy")
    func outputs() throws {
        let graph = try RBM(visible: 16, hidden: 4, k: 1).graph(batch: 8)
        #expect(graph.output(withRole: .loss) == "loss")
        #expect(graph.output(withRole: .sample) == "sample")
        #expect(graph.output(withRole: .reconstruction) == "reconstruction")
        #expect(graph.outputs == ["loss", "sample", "reconstruction", "recon_error", "free_energy"])
        #expect(graph.valueTypes["sample"] == TensorType(.f32, [8, 16]))
    }

    @Test("k outside 1…100 and empty layers are errors", arguments: [(0, 16), (101, 16), (1, 0)])
    func refusals(_ k: Int, _ visible: Int) {
        #expect(throws: Diagnostic.self) { try RBM(visible: visible, hidden: 4, k: k).graph() }
    }

    /// Stripes: each example turns on one of four column bands of a 4×4 image.
    static func stripes(_ count: Int) throws -> Dataset {
        let pixels = (0..<count).flatMap { n in (0..<16).map { p in Float(p % 4 == n % 4 ? 1 : 0) } }
        return try Dataset(["x": Tensor(Shape([count, 16]), floats: pixels)])
    }

    @Test("CD-1 and PCD-5 learn: the reconstruction error on the stripes falls", arguments: [(1, false), (5, true)])
    func learns(_ k: Int, _ persistent: Bool) throws {
        let trainer = try Trainer(graph: try RBM(visible: 16, hidden: 8, k: k, persistent: persistent).graph(batch: 8),
                                  optimizer: try .parse("adam:lr=0.05"), backend: .interpreter)
        let data = try Self.stripes(64)
        let before = try #require(try trainer.evaluateMonitored(data)["recon_error"])
        try trainer.fit(data, epochs: 10, validation: .none, progress: .silent)
        let after = try #require(try trainer.evaluateMonitored(data)["recon_error"])
        #expect(after < 0.5 * before, "reconstruction error \(before) → \(after)")
    }
}
