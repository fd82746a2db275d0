import Foundation
import KilnCodegen
import KilnIR
import KilnJIT
import KilnRuntime
import Testing

/// The JIT's inline exp/log/tanh/sigmoid against libm over dense sweeps of their domains.
struct MathLibraryTests {
    /// Runs `y = op(x)` through the JIT on `values`.
    static func jit(_ op: String, _ values: [Float]) throws -> [Float] {
        let graph = try inferTypes(try Parser.parse("graph m {\n input x: f32[\(values.count)]\n y = \(op)(x)\n output y\n}"))
        var state: [String: Tensor] = [:]
        let out = try JITBackend(graph: graph).run(inputs: ["x": Tensor([values.count], floats: values)], state: &state, step: 0)
        return try #require(out["y"]).floats
    }

    static func sweep(_ lo: Float, _ hi: Float, _ n: Int = 1 << 20) -> [Float] {
        (0..<n).map { lo + (hi - lo) * Float($0) / Float(n - 1) }
    }

    /// Maximum absolute and relative error against a reference computed in Double.
    static func errors(_ got: [Float], _ x: [Float], _ reference: (Double) -> Double) -> (abs: Double, rel: Double) {
        var maxAbs = 0.0, maxRel = 0.0
        for (g, v) in zip(got, x) {
            let want = reference(Double(v))
            let e = Swift.abs(Double(g) - want)
            maxAbs = Swift.max(maxAbs, e)
            if Swift.abs(want) > 1e-30 { maxRel = Swift.max(maxRel, e / Swift.abs(want)) }
        }
        return (maxAbs, maxRel)
    }

    @Test("exp: relative error ≤ 2e-7 over [-87, 88]")
    func exp() throws {
        let x = Self.sweep(-87, 88)
        let e = Self.errors(try Self.jit("exp", x), x, Foundation.exp)
        print("exp: max abs \(e.abs), max rel \(e.rel)")
        #expect(e.rel <= 2e-7)
    }

    @Test("log: relative error ≤ 2e-7 over 1e-30 … 1e30 (log-spaced), and its edge cases")
    func log() throws {
        let x = (0..<(1 << 20)).map { Float(Foundation.pow(10.0, -30 + 60 * Double($0) / Double((1 << 20) - 1))) }
        let e = Self.errors(try Self.jit("log", x), x, Foundation.log)
        print("log: max abs \(e.abs), max rel \(e.rel)")
        #expect(e.rel <= 2e-7)
        let edges = try Self.jit("log", [0, -1, .infinity, 1])
        #expect(edges[0] == -.infinity && edges[1].isNaN && edges[2] == .infinity && edges[3] == 0)
    }

    @Test("tanh and sigmoid: absolute error ≤ 2e-7")
    func tanhSigmoid() throws {
        let x = Self.sweep(-20, 20)
        let t = Self.errors(try Self.jit("tanh", x), x, Foundation.tanh)
        let s = Self.errors(try Self.jit("sigmoid", x), x) { 1 / (1 + Foundation.exp(-$0)) }
        print("tanh: max abs \(t.abs); sigmoid: max abs \(s.abs)")
        #expect(t.abs <= 2e-7 && s.abs <= 2e-7)
    }

    /// The vector routines (`kiln_exp_v16`, …, what vectorised loops call) against the scalar
    /// ones (tails and unvectorised loops): the same value, bit for bit, on every edge value
    /// and a sweep. The scalar side runs 15 values at a time, fewer than a vector's lanes.
    @Test("vector math routines equal the scalar ones bit for bit", arguments: ["exp", "log", "tanh", "sigmoid", "softplus", "elu"])
    func vectorEqualsScalar(op: String) throws {
        let lanes = 16, target = CodegenTarget(vectorLanes: lanes, vectorRegisters: 32, threads: 1, l1Bytes: 32 << 10, l2Bytes: 1 << 20)
        var values: [Float] = [0, -0, 1, -1, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                               -.greatestFiniteMagnitude, .infinity, -.infinity, .nan, 88.72283935546875, 88.8, -87.4, -104, -106, 0.625, -0.625, 1e-8]
        values += Self.sweep(-30, 30, 16 * 250 - values.count)
        func run(_ xs: [Float]) throws -> [Float] {
            let graph = try inferTypes(try Parser.parse("graph m {\n input x: f32[\(xs.count)]\n y = \(op)(x)\n output y\n}"))
            var state: [String: Tensor] = [:]
            let out = try JITBackend(graph: graph, target: target).run(inputs: ["x": Tensor([xs.count], floats: xs)], state: &state, step: 0)
            return try #require(out["y"]).floats
        }
        let vector = try run(values)
        let graph = try inferTypes(try Parser.parse("graph m {\n input x: f32[15]\n y = \(op)(x)\n output y\n}"))
        let scalarBackend = try JITBackend(graph: graph, target: target)
        var scalar: [Float] = []
        for start in stride(from: 0, to: values.count, by: 15) {
            var chunk = Array(values[start..<min(start + 15, values.count)])
            let used = chunk.count
            chunk += [Float](repeating: 0, count: 15 - used)
            var state: [String: Tensor] = [:]
            let out = try scalarBackend.run(inputs: ["x": Tensor([15], floats: chunk)], state: &state, step: 0)
            scalar += try #require(out["y"]).floats.prefix(used)
        }
        #expect(vector.count == values.count && scalar.count == values.count)
        let differing = zip(vector, scalar).enumerated().filter { !($0.element.0.bitPattern == $0.element.1.bitPattern || ($0.element.0.isNaN && $0.element.1.isNaN)) }
        #expect(differing.isEmpty, "\(op): \(differing.count) differ, first at x = \(differing.first.map { values[$0.offset] } ?? 0): \(differing.first.map { "\($0.element)" } ?? "")")
    }
}
