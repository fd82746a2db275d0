import KilnIR
import KilnPasses
import KilnRuntime

/// Deterministic test data.
struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return KilnRandom.mix(state)
    }
    mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / 16_777_216
    }
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func tensor(_ dims: [Int], _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
        Tensor(Shape(dims), floats: (0..<dims.reduce(1, *)).map { _ in float(lo, hi) })
    }
}

/// Parses, types and runs `text` once on `inputs` (params from `params`, else initialisers).
func runGraph(_ text: String, _ inputs: [String: Tensor], params: [String: Tensor] = [:]) throws -> [String: Tensor] {
    let graph = try inferTypes(try Parser.parse(text))
    var state = initialState(for: graph, seed: 0).merging(params) { $1 }
    return try Interpreter(graph: graph).run(inputs: inputs, state: &state, step: 0)
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
}
