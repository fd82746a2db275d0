import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import KilnTestSupport
import Testing
@testable import KilnJIT

/// Differential testing: seeded random valid graphs over the whole op table (fused kernels,
/// gradient helpers, random ops, every initializer; `RandomGraphGenerator`, shared with the IR
/// tests) run on the interpreter and on the JIT, unoptimised and after simplify/fuse/plan-memory.
/// Every other graph also gets a loss and its gradients (the gradient graph is what runs).
/// Both must fail alike or agree on every output. `make fuzz-diff` runs many more seeds
/// (KILN_FUZZ_SEEDS); `swift test` runs the first 150.
struct DifferentialTests {
    static var seeds: Range<UInt64> {
        let count = ProcessInfo.processInfo.environment["KILN_FUZZ_SEEDS"].flatMap { UInt64($0) } ?? 150
        let first = ProcessInfo.processInfo.environment["KILN_FUZZ_FIRST_SEED"].flatMap { UInt64($0) } ?? 0
        return first..<(first + count)
    }

    static func feeds(_ graph: Graph, seed: UInt64) -> [String: Tensor] {
        var feeds: [String: Tensor] = [:]
        let cols = graph.param(named: "w")?.type.shape[0] ?? 1
        for input in graph.inputs {
            let n = input.type.elementCount
            let key = KilnRandom.key(seed: seed, step: KilnRandom.hash(input.name))
            switch input.type.dtype {
            case .i32:
                // Labels index any logits width (≥ 1); indices the [cols, cols] tables.
                let bound = input.name == "idx" ? cols : 1
                feeds[input.name] = Tensor(input.type.shape, ints: (0..<n).map { Int32(Float(bound) * KilnRandom.uniform(key: key, index: UInt64($0))) })
            case .f32:
                feeds[input.name] = Tensor(input.type.shape, floats: (0..<n).map { 4 * KilnRandom.uniform(key: key, index: UInt64($0)) - 2 })
            }
        }
        return feeds
    }

    /// Outputs agree: equal bits, both NaN, or close relative to the larger magnitude (random
    /// graphs reach 1e30 constants, so sums of mixed magnitudes may cancel differently).
    static func agree(_ a: Tensor, _ b: Tensor) -> String? {
        guard a.type == b.type else { return "types \(a.type) vs \(b.type)" }
        if a.dtype == .i32 { return a.ints == b.ints ? nil : "i32 values differ" }
        let (x, y) = (a.floats, b.floats)
        let scale = x.filter(\.isFinite).map { Swift.abs(Double($0)) }.max() ?? 0
        for i in x.indices {
            let (u, v) = (x[i], y[i])
            if u.bitPattern == v.bitPattern || (u.isNaN && v.isNaN) { continue }
            if u.isFinite && v.isFinite {
                let d = Swift.abs(Double(u) - Double(v))
                if d <= 1e-4 * Swift.max(Swift.abs(Double(u)), Swift.abs(Double(v))) + 1e-6 * scale + 1e-5 { continue }
            }
            return "element \(i): interpreter \(u), JIT \(v)"
        }
        return nil
    }

    static func run(_ backend: ExecutionBackend, _ graph: Graph, _ feeds: [String: Tensor]) -> Result<([String: Tensor], [String: Tensor]), Error> {
        var state = initialState(for: graph, seed: 11)
        return Result { (try backend.run(inputs: feeds, state: &state, step: 2), state) }
    }

    /// What `withGradients` made of a forward graph.
    enum GradientGraph {
        case graph(Graph)
        /// No f32 output to build a loss from: only the forward graph can be checked.
        case noFloatOutput
        /// The loss depends on the params only through an op without a gradient (argmax, a
        /// comparison…): Differentiation refuses it by name, which is correct.
        case notDifferentiable(String)
    }

    /// `forward` with `loss = reduce_sum(square(first f32 output))` and its gradients as
    /// outputs. Any failure other than the two expected refusals is thrown, so a broken
    /// differentiation cannot silently fall back to checking the forward graph.
    static func withGradients(_ forward: Graph) throws -> GradientGraph {
        guard let output = forward.outputs.first(where: { forward.valueTypes[$0]?.dtype == .f32 }),
              let type = forward.valueTypes[output] else { return .noFloatOutput }
        var b = GraphBuilder(forward, infersTypes: true)
        let squared = try b.add(.square, [output])
        let loss = try b.add(.reduce_sum, [squared], [("axes", .ints(Array(0..<type.rank)))], name: "fuzz_loss")
        try b.addOutput(loss)
        do {
            return .graph(try Differentiation(loss: loss).run(b.graph))
        } catch let d as Diagnostic where d.message.hasPrefix("cannot differentiate through ") {
            return .notDifferentiable(d.message)
        }
    }

    @Test("random graphs and their gradients: the JIT equals the interpreter, unoptimised and optimised")
    func randomGraphs() throws {
        var checked = 0, failedAlike = 0, gradientGraphs = 0, noFloatOutput = 0, notDifferentiable = 0
        var problems: [String] = []
        for seed in Self.seeds {
            let forward = try RandomGraphGenerator.make(seed: seed)
            // Every other seed also checks the gradient graph: the first f32 output is squared
            // and summed into a loss, differentiated with respect to every trainable param.
            var graph = forward
            if seed % 2 == 1 {
                switch try Self.withGradients(forward) {
                case .graph(let g): graph = g; gradientGraphs += 1
                case .noFloatOutput: noFloatOutput += 1
                case .notDifferentiable: notDifferentiable += 1
                }
            }
            var manager = PassManager(OptimizingPipeline.passes)
            let optimized: Graph
            do { optimized = try manager.run(graph) } catch {
                problems.append("seed \(seed): optimising failed: \(error)")
                continue
            }
            let feeds = Self.feeds(graph, seed: seed)
            let reference = Self.run(try Interpreter(graph: graph), graph, feeds)
            for (label, g) in [("plain", graph), ("optimised", optimized)] {
                let jit = Self.run(try JITBackend(graph: g), g, feeds)
                switch (reference, jit) {
                case (.failure(let e), .failure(let f)):
                    failedAlike += 1
                    let (m, n) = ("\(e)", "\(f)")
                    if m.split(separator: ":").last != n.split(separator: ":").last { problems.append("seed \(seed) \(label): errors differ: \(m) / \(n)") }
                case (.failure(let e), .success):
                    problems.append("seed \(seed) \(label): interpreter failed (\(e)), JIT did not")
                case (.success, .failure(let f)):
                    problems.append("seed \(seed) \(label): JIT failed: \(f)")
                case (.success(let (want, wantState)), .success(let (got, gotState))):
                    checked += 1
                    for name in graph.outputs {
                        guard let a = want[name], let b = got[name] else { problems.append("seed \(seed) \(label): '\(name)' missing"); continue }
                        if let issue = Self.agree(a, b) { problems.append("seed \(seed) \(label): output \(name): \(issue)") }
                    }
                    // Both backends must return the same state names: a state the JIT drops is a problem, not a skip.
                    if Set(wantState.keys) != Set(gotState.keys) {
                        problems.append("seed \(seed) \(label): state names differ: \(wantState.keys.sorted()) / \(gotState.keys.sorted())")
                    }
                    for (name, value) in wantState {
                        guard let other = gotState[name] else { continue }
                        if let issue = Self.agree(value, other) { problems.append("seed \(seed) \(label): state \(name): \(issue)") }
                    }
                }
            }
        }
        if let seed = problems.first.flatMap({ $0.split(separator: " ").dropFirst().first }).flatMap({ UInt64($0.trimmingCharacters(in: .punctuationCharacters)) }),
           let graph = try? RandomGraphGenerator.make(seed: seed) {
            print("first failing graph (seed \(seed)):\n\(graph.text)")
        }
        let runs = 2 * Self.seeds.count
        print("differential: \(Self.seeds.count) graphs (\(gradientGraphs) gradient graphs; odd seeds without one: \(noFloatOutput) "
              + "with no f32 output, \(notDifferentiable) not differentiable), "
              + "\(checked) of \(runs) runs compared, \(failedAlike) failed alike on both backends")
        #expect(problems.isEmpty, "\(problems.count) problems:\n\(problems.prefix(15).joined(separator: "\n"))")
        // Most runs must compare values (a run both backends refuse alike checks only the
        // message), and most odd seeds must really be gradient graphs (seeds 0–149: 52 of 75).
        #expect(!Self.seeds.isEmpty)
        #expect(checked * 10 >= runs * 9, "only \(checked) of \(runs) runs compared values")
        #expect(gradientGraphs * 5 >= (Self.seeds.count / 2) * 3, "only \(gradientGraphs) of \(Self.seeds.count / 2) odd seeds had a gradient graph")
    }
}
