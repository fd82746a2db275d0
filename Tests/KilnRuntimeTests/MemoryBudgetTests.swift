import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// The memory budget: a graph that cannot fit is refused, located, before allocation.
struct MemoryBudgetTests {
    static let huge = "graph big {\n  input x: f32[2]\n  param w: f32[100000, 100000] = zeros\n  y = relu(x)\n  output y\n}\n"

    @Test("a 40 GB param is a located error naming it, under a 16 GiB budget")
    func tooLarge() throws {
        let graph = try inferTypes(try Parser.parse(Self.huge, file: "big.kiln"))
        #expect(throws: Diagnostic("graph 'big' needs at least 37.25 GiB, more than the memory budget of 16.00 GiB (largest: param 'w' f32[100000, 100000]: 37.25 GiB; input 'x' f32[2]: 8 B; 'y' f32[2] (relu): 8 B); raise it with --memory-budget or KILN_MEMORY_BUDGET",
                                   at: SourceLocation(file: "big.kiln", line: 3, column: 9))) {
            try MemoryBudget(bytes: 16 << 30).check(graph)
        }
    }

    @Test("the planned arena counts as one item; a small graph fits")
    func planned() throws {
        let text = "graph g {\n  input x: f32[64, 64]\n  y = relu(exp(x))\n  output y\n}\n"
        let graph = try MemoryPlanner().run(try inferTypes(try Parser.parse(text)))
        #expect(MemoryBudget.items(of: graph).contains { $0.name == "the arena of intermediates" } == (graph.memoryPlan != nil))
        try MemoryBudget(bytes: 1 << 20).check(graph)
    }

    @Test("sizes parse with binary suffixes; nonsense is refused", arguments: [(String, Int)]([
        ("1048576", 1 << 20), ("512M", 512 << 20), ("2G", 2 << 30), ("1.5K", 1536), ("4GiB", 4 << 30), ("1T", 1 << 40),
    ]))
    func parse(_ text: String, _ bytes: Int) throws {
        #expect(try MemoryBudget.parse(text).bytes == bytes)
    }

    @Test("bad sizes", arguments: ["", "0", "-1G", "nan", "inf", "1e30", "lots"])
    func bad(_ text: String) {
        #expect(throws: Diagnostic.self) { try MemoryBudget.parse(text) }
    }
}
