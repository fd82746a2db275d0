import Foundation
import KilnIR
import KilnRuntime
import Testing

/// The initialisers' distributions (moments over many draws) and their `.kiln` spellings.
struct InitializerTests {
    static func values(_ initializer: String, _ shape: String = "[400, 300]") throws -> [Float] {
        let graph = try Parser.parse("graph g {\n param w: f32\(shape) = \(initializer)\n output w\n}")
        return try #require(initialState(for: graph, seed: 7)["w"]).floats
    }

    static func moments(_ v: [Float]) -> (mean: Double, std: Double, maxAbs: Double) {
        let mean = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
        let variance = v.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(v.count)
        return (mean, variance.squareRoot(), v.map { Swift.abs(Double($0)) }.max() ?? 0)
    }

    @Test("glorot_normal: N(0, 2/(fan_in + fan_out)); he_uniform: U(±√(6/fan_in))")
    func scaled() throws {
        let glorot = Self.moments(try Self.values("glorot_normal"))
        #expect(Swift.abs(glorot.mean) < 0.002)
        #expect(Swift.abs(glorot.std - (2.0 / 700).squareRoot()) < 0.002)
        let he = Self.moments(try Self.values("he_uniform"))
        let limit = (6.0 / 400).squareRoot()
        #expect(he.maxAbs < limit && he.maxAbs > 0.99 * limit)
        #expect(Swift.abs(he.std - limit / 3.0.squareRoot()) < 0.002)
        // Filters: fan_in = I·H·W.
        let conv = Self.moments(try Self.values("he_uniform", "[16, 6, 5, 5]"))
        #expect(conv.maxAbs < (6.0 / 150).squareRoot())
    }

    @Test("normal:std=S[,mean=M] and uniform:a=A are normal(M, S) and uniform(−A, A)")
    func optionSpelling() throws {
        let a = try Parser.parse("graph g {\n param w: f32[3] = normal:std=0.02\n param u: f32[3] = uniform:a=0.05\n param m: f32[3] = normal:mean=1,std=0.5\n output w\n}")
        #expect(a.params.map(\.initializer) == [.normal(mean: 0, std: 0.02), .uniform(-0.05, 0.05), .normal(mean: 1, std: 0.5)])
        // They print in the canonical form, which reads back the same.
        #expect(try Parser.parse(a.text).text == a.text)
        let n = Self.moments(try Self.values("normal:std=0.1"))
        #expect(Swift.abs(n.std - 0.1) < 0.001)
        let u = Self.moments(try Self.values("uniform:a=0.3"))
        #expect(u.maxAbs < 0.3 && u.maxAbs > 0.299)
    }

    @Test("initialiser option errors name the option and the range", arguments: [
        ("normal:std=-1", "normal needs a finite std >= 0, got -1.0"),
        ("uniform:a=0", "uniform needs a finite a > 0, got 0.0"),
        ("uniform:lo=1", "initializer 'uniform' has no option 'lo' (it takes a)"),
        ("normal:mean=1", "normal: needs std=S"),
        ("glorot_normal:std=1", "initializer 'glorot_normal' takes no options (options are for normal:std=S and uniform:a=A)"),
        ("normal:std=1,std=2", "initializer option 'std' is given twice"),
    ])
    func errors(_ spelling: String, _ message: String) throws {
        do {
            _ = try Parser.parse("graph g {\n param w: f32[3] = \(spelling)\n output w\n}")
            Issue.record("expected an error for \(spelling)")
        } catch let d as Diagnostic {
            #expect(d.message == message)
        }
    }
}
