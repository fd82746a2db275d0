import KilnIR
@testable import KilnPasses
import Testing

/// Checks a plan's invariants: aligned offsets inside the arena; two values alive at the same
/// time never overlap unless one overwrites (or views) the other where that one dies.
func checkPlan(_ graph: Graph, _ plan: MemoryPlan) -> [String] {
    var problems: [String] = []
    let values = plan.allocations.sorted { $0.key < $1.key }
    for (name, a) in values {
        if a.offset % MemoryPlan.alignment != 0 { problems.append("\(name) at unaligned offset \(a.offset)") }
        if a.offset + a.size > plan.arenaSize { problems.append("\(name) ends past the arena") }
    }
    func related(_ x: String, _ y: String) -> Bool {
        // Follow reuse chains: in-place and view relations are transitive within one slot.
        func root(_ v: String) -> String {
            var v = v
            while let next = plan.allocations[v]?.reuses { v = next }
            return v
        }
        return root(x) == root(y)
    }
    for i in values.indices {
        for j in values.indices where j > i {
            let (x, a) = values[i], (y, b) = values[j]
            let liveTogether = a.firstUse <= b.lastUse && b.firstUse <= a.lastUse
            let overlap = a.offset < b.offset + b.size && b.offset < a.offset + a.size
            guard liveTogether, overlap else { continue }
            if related(x, y) {
                // In place: the overwritten value must die exactly where the new one is made.
                let (older, newer) = a.firstUse <= b.firstUse ? (a, b) : (b, a)
                let isView = graph.nodes.first { $0.resultNames.contains(a.firstUse <= b.firstUse ? y : x) }?.op == .reshape
                if !isView && older.lastUse != newer.firstUse && older.firstUse != newer.firstUse {
                    problems.append("\(x) and \(y) share memory but \(x) is still needed")
                }
            } else {
                problems.append("\(x) [\(a.firstUse), \(a.lastUse)] and \(y) [\(b.firstUse), \(b.lastUse)] overlap in time and memory")
            }
        }
    }
    return problems
}

struct MemoryPlannerTests {
    @Test("plans of every model and training step are valid and pack well")
    func zooPlans() throws {
        for (name, graph) in try TestGraphs.forwardAndTraining() {
            var manager = PassManager(OptimizingPipeline.passes)
            let planned = try manager.run(graph)
            let plan = try #require(planned.memoryPlan)
            #expect(checkPlan(planned, plan) == [], "\(name)")
            #expect(plan.arenaSize <= plan.naiveSize, "\(name)")
        }
    }

    @Test("without reuse every value has its own bytes")
    func noReuse() throws {
        for (name, graph) in try TestGraphs.forwardAndTraining() {
            let plan = MemoryPlanner(reuse: false).plan(try Fusion().run(graph))
            #expect(plan.arenaSize == plan.naiveSize, "\(name)")
            let ranges = plan.allocations.values.map { $0.offset..<($0.offset + $0.size) }.sorted { $0.lowerBound < $1.lowerBound }
            for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound <= b.lowerBound, "\(name)") }
        }
    }

    @Test("LeNet-5 Adam step: the arena is at most half the naive sum")
    func lenetHalf() throws {
        let lenet = try #require(try TestGraphs.zoo().first { $0.0 == "lenet5.kiln" }?.1)
        let step = try TrainingStep(loss: "loss", optimizer: Optimizer(.adam)).run(lenet)
        var manager = PassManager(OptimizingPipeline.passes)
        let plan = try #require(try manager.run(step).memoryPlan)
        #expect(plan.arenaSize * 2 <= plan.naiveSize, "\(plan.summary)")
    }

    @Test("outputs, inputs, params and update values stay outside the arena")
    func escapingValues() throws {
        for (name, graph) in try TestGraphs.forwardAndTraining() {
            let plan = MemoryPlanner().plan(try Fusion().run(graph))
            for value in graph.outputs + graph.updates.map(\.value) + graph.inputs.map(\.name) + graph.params.map(\.name) {
                #expect(plan.allocations[value] == nil, "\(name): \(value)")
            }
        }
    }

    /// A planned graph and its plan: `a` and `b` are alive together (both feed `c`); `d` is an
    /// elementwise op of `c` alone, so it may take over `c`'s buffer; `e` is a reshape view.
    static func planned() throws -> Graph {
        let graph = try inferTypes(try Parser.parse("""
            graph g {
              input x: f32[4, 4]
              a = exp(x)
              b = exp(a)
              c = add(a, b)
              d = neg(c)
              e = reshape(d, shape=[16])
              f = exp(e)
              output f
            }
            """))
        var manager = PassManager([MemoryPlanner()])
        return try manager.run(graph)
    }

    /// The product's verifier (`Verifier.verify` → `verifyPlan`) on `graph` with `plan`:
    /// the error message, or nil when the plan is accepted.
    static func verdict(_ graph: Graph, _ edit: (inout MemoryPlan) -> Void) throws -> String? {
        var g = graph, plan = try #require(graph.memoryPlan)
        edit(&plan)
        g.memoryPlan = plan
        do { try Verifier().verify(g); return nil } catch let d as Diagnostic { return d.message }
    }

    @Test("the test's own checker catches overlapping live buffers")
    func checkerCatches() throws {
        let graph = try Self.planned()
        var plan = try #require(graph.memoryPlan)
        let offsetOfA = try #require(plan.allocations["a"]).offset
        plan.allocations["b"]?.offset = offsetOfA
        #expect(!checkPlan(graph, plan).isEmpty)
    }

    @Test("the verifier accepts the planner's plans and checks them after every pass")
    func verifierAccepts() throws {
        let graph = try Self.planned()
        let plan = try #require(graph.memoryPlan)
        #expect(plan.allocations["a"] != nil && plan.allocations["b"] != nil && plan.allocations["d"]?.reuses == "c")
        #expect(try Self.verdict(graph) { _ in } == nil)
        #expect(checkPlan(graph, plan) == [])
    }

    @Test("the verifier rejects a misaligned, overlapping, oversized or illegally shared plan")
    func verifierRejects() throws {
        let graph = try Self.planned()
        let plan = try #require(graph.memoryPlan)
        let a = try #require(plan.allocations["a"]), c = try #require(plan.allocations["c"])
        let bad: [(String, (inout MemoryPlan) -> Void, String)] = [
            // Inside a grown arena, so only the alignment is wrong.
            ("misaligned", { $0.allocations["b"]?.offset += 4; $0.arenaSize += 64 }, "misaligned"),
            ("past the arena", { $0.arenaSize = a.offset + a.size - 64 }, "outside the"),
            ("wrong size", { $0.allocations["a"]?.size -= 4 }, "'a' needs 64 bytes, the plan gives 60"),
            ("two live values share bytes", { $0.allocations["b"]?.offset = a.offset }, "are alive at the same time but share bytes"),
            // b = exp(a) may not write over a: a is still read by c.
            ("takeover of a live operand", { $0.allocations["b"]?.offset = a.offset; $0.allocations["b"]?.reuses = "a" }, "takes over the buffer of 'a'"),
            // d may take over c only at c's own offset.
            ("takeover at another offset", { $0.allocations["d"]?.offset = c.offset + 64; $0.arenaSize += 128 }, "takes over the buffer of 'c'"),
            ("output in the arena", { $0.allocations["f"] = MemoryPlan.Allocation(offset: 0, size: 64, firstUse: 5, lastUse: 5) }, "outlives the step"),
            ("a value the graph does not compute", { $0.allocations["zz"] = MemoryPlan.Allocation(offset: 0, size: 64, firstUse: 0, lastUse: 0) }, "'zz' is not a value"),
        ]
        #expect(!bad.isEmpty)
        for (label, edit, message) in bad {
            let verdict = try Self.verdict(graph, edit)
            #expect(verdict?.contains(message) == true, "\(label): \(verdict ?? "accepted")")
        }
    }

    @Test("editing a planned graph's inputs, params, nodes, outputs or updates drops its plan")
    func editingDropsPlan() throws {
        let graph = try Self.planned()
        #expect(graph.memoryPlan != nil)
        let edits: [(String, (inout Graph) -> Void)] = [
            ("inputs", { $0.inputs[0].name = "y" }),
            ("params", { $0.params.append(Param(name: "p", type: TensorType(.f32, [1]), initializer: .zeros)) }),
            ("nodes", { $0.nodes[0].op = .neg }),
            ("outputs", { $0.outputs.append("e") }),
            ("updates", { $0.updates = [StateUpdate(target: "p", value: "e")] }),
        ]
        for (label, edit) in edits {
            var copy = graph
            edit(&copy)
            #expect(copy.memoryPlan == nil, "editing \(label) kept the plan")
        }
        #expect(graph.memoryPlan != nil, "the original keeps its plan")
    }
}
