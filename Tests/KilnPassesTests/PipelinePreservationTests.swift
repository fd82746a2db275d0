import KilnIR
import KilnPasses
import KilnRuntime
import Testing

/// Random feeds for every input of a graph (integer inputs are labels in [0, 2)).
func randomFeeds(_ graph: Graph, seed: UInt64) -> [String: Tensor] {
    var feeds: [String: Tensor] = [:]
    for input in graph.inputs {
        let key = KilnRandom.key(seed: seed ^ KilnRandom.hash(input.name), step: 0)
        let n = input.type.elementCount
        if input.type.dtype == .i32 {
            feeds[input.name] = Tensor(input.type.shape, ints: (0..<n).map { Int32(KilnRandom.uniform(key: key, index: UInt64($0)) * 2) })
        } else if input.name == "lr" {
            feeds[input.name] = Tensor.scalar(0.01)
        } else {
            feeds[input.name] = Tensor(input.type.shape, floats: (0..<n).map { KilnRandom.uniform(key: key, index: UInt64($0)) })
        }
    }
    return feeds
}

struct PipelinePreservationTests {
    /// Runs `graph` and returns its outputs and the state after the run.
    func evaluate(_ graph: Graph, _ feeds: [String: Tensor], usePlan: Bool = false) throws -> ([String: Tensor], [String: Tensor]) {
        var state = initialState(for: graph, seed: 7)
        let outputs = try Interpreter(graph: graph, usePlan: usePlan).run(inputs: feeds, state: &state, step: 3)
        return (outputs, state)
    }

    func close(_ a: Tensor?, _ b: Tensor?) -> Bool {
        guard let a, let b, a.type == b.type else { return false }
        return zip(a.floats, b.floats).allSatisfy { Swift.abs($0 - $1) <= 1e-5 * Swift.max(1, Swift.abs($0)) }
    }

    @Test("simplify, fuse and plan-memory preserve every model's outputs and updates (planned arena run included)")
    func preservation() throws {
        // At batch 2: the passes see the same ops; the debug interpreter runs each model in a
        // fraction of the time (81 s for the whole zoo at its own batch sizes).
        let graphs = try TestGraphs.forwardAndTraining(batch: 2)
        #expect(graphs.count >= 28)
        for (name, graph) in graphs {
            let feeds = randomFeeds(graph, seed: 11)
            let (before, stateBefore) = try evaluate(graph, feeds)
            var manager = PassManager(OptimizingPipeline.passes)
            let optimized = try manager.run(graph)
            // Only the planned run: it also checks the passes (a wrong rewrite changes it as
            // much), and each interpreted run of every model is seconds of the test suite.
            let (after, stateAfter) = try evaluate(optimized, feeds, usePlan: true)
            for output in graph.outputs { #expect(close(before[output], after[output]), "\(name): output \(output)") }
            for update in graph.updates {
                #expect(close(stateBefore[update.target], stateAfter[update.target]), "\(name): \(update.target)")
            }
        }
    }
}
