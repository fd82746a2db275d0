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
            var manager = PassManager([Simplify(), Fusion(), MemoryPlanner()])
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
        var manager = PassManager([Simplify(), Fusion(), MemoryPlanner()])
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

    @Test("the checker catches overlapping live buffers")
    func checkerCatches() throws {
        let graph = try inferTypes(try Parser.parse("""
            graph g {
              input x: f32[4]
              a = exp(x)
              b = exp(x)
              c = add(a, b)
              output c
            }
            """))
        var plan = MemoryPlanner().plan(graph)
        let offsetOfA = plan.allocations["a"]?.offset ?? 0
        plan.allocations["b"]?.offset = offsetOfA
        #expect(!checkPlan(graph, plan).isEmpty)
    }
}
