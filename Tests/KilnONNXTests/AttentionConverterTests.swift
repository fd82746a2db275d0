import Foundation
import KilnIR
import KilnPasses
import KilnRuntime
import Testing
@testable import KilnONNX

/// ONNX `Attention` against attention written out with loops here: grouped heads, the causal
/// frontier with a KV cache, a boolean mask with a fully masked row (which must be 0).
@Suite struct AttentionConverterTests {
    /// softmax(q·kᵀ·scale + bias)·v per (batch, head), the k/v head of query head h being h / group.
    static func reference(_ q: [Float], _ k: [Float], _ v: [Float], b: Int, hq: Int, hk: Int, sq: Int, skv: Int, d: Int,
                          allowed: (Int, Int, Int) -> Bool) -> [Float] {
        var y = [Float](repeating: 0, count: b * hq * sq * d)
        let scale = 1 / Float(d).squareRoot()
        for n in 0..<b { for h in 0..<hq { for i in 0..<sq {
            let kh = h / (hq / hk)
            var logits = [Float](repeating: -.infinity, count: skv)
            for j in 0..<skv where allowed(n, i, j) {
                var s: Float = 0
                for c in 0..<d { s += q[((n * hq + h) * sq + i) * d + c] * k[((n * hk + kh) * skv + j) * d + c] }
                logits[j] = s * scale
            }
            let m = logits.max() ?? -.infinity
            guard m > -.infinity else { continue }  // a fully masked row stays 0
            let e = logits.map { exp($0 - m) }, total = e.reduce(0, +)
            for c in 0..<d { y[((n * hq + h) * sq + i) * d + c] = (0..<skv).reduce(0) { $0 + e[$1] / total * v[((n * hk + kh) * skv + $1) * d + c] } }
        } } }
        return y
    }

    static func values(_ count: Int, _ seed: Int) -> [Float] { (0..<count).map { Float(($0 * 37 + seed * 11) % 17) / 8 - 1 } }

    static func run(_ m: ModelBuilder, _ inputs: [String: Tensor]) throws -> [String: Tensor] {
        let result = try ONNXImporter.importModel(bytes: try m.bytes(), source: "m.onnx", evaluator: InterpreterEvaluator())
        var state = result.tensors
        return try Interpreter(graph: try ShapeInference().run(result.graph)).run(inputs: inputs, state: &state, step: 0)
    }

    @Test("grouped-query causal attention with a KV cache")
    func causalGroupedWithCache() throws {
        let (b, hq, hk, sq, past, d) = (1, 4, 2, 3, 2, 4)
        var m = ModelBuilder()
        m.opset = 23
        m.input("Q", [Int64(b), Int64(hq), Int64(sq), Int64(d)])
        m.input("K", [Int64(b), Int64(hk), Int64(sq), Int64(d)])
        m.input("V", [Int64(b), Int64(hk), Int64(sq), Int64(d)])
        m.input("pk", [Int64(b), Int64(hk), Int64(past), Int64(d)])
        m.input("pv", [Int64(b), Int64(hk), Int64(past), Int64(d)])
        m.node("Attention", ["Q", "K", "V", "", "pk", "pv"], ["y", "present_k"], ["is_causal": 1])
        m.output("y")
        m.output("present_k")
        let q = Self.values(b * hq * sq * d, 1), k = Self.values(b * hk * sq * d, 2), v = Self.values(b * hk * sq * d, 3)
        let pk = Self.values(b * hk * past * d, 4), pv = Self.values(b * hk * past * d, 5)
        var feeds: [String: Tensor] = [:]
        feeds["Q"] = Tensor([b, hq, sq, d], floats: q)
        feeds["K"] = Tensor([b, hk, sq, d], floats: k)
        feeds["V"] = Tensor([b, hk, sq, d], floats: v)
        feeds["pk"] = Tensor([b, hk, past, d], floats: pk)
        feeds["pv"] = Tensor([b, hk, past, d], floats: pv)
        let out = try Self.run(m, feeds)
        // The cache: per head, the past rows then the new ones.
        func cat(_ p: [Float], _ n: [Float]) -> [Float] {
            var out: [Float] = []
            for h in 0..<hk {
                let pastRows = p[(h * past * d)..<((h + 1) * past * d)], newRows = n[(h * sq * d)..<((h + 1) * sq * d)]
                out += Array(pastRows)
                out += Array(newRows)
            }
            return out
        }
        let kAll = cat(pk, k), vAll = cat(pv, v)
        let want = Self.reference(q, kAll, vAll, b: b, hq: hq, hk: hk, sq: sq, skv: past + sq, d: d) { _, i, j in j <= i + past }
        let y = try #require(out["y"]).floats
        #expect(zip(y, want).allSatisfy { abs($0 - $1) < 1e-5 }, "\(y) vs \(want)")
        #expect(try #require(out["present_k"]).floats == kAll)
    }

    @Test("a boolean mask; a row with every key masked is 0, not NaN")
    func booleanMaskFullyMaskedRow() throws {
        let (sq, skv, d) = (2, 3, 2)
        var m = ModelBuilder()
        m.opset = 23
        m.input("Q", [1, 1, Int64(sq), Int64(d)])
        m.input("K", [1, 1, Int64(skv), Int64(d)])
        m.input("V", [1, 1, Int64(skv), Int64(d)])
        m.input("mask", [Int64(sq), Int64(skv)], elemType: ONNXDataType.bool)
        m.node("Attention", ["Q", "K", "V", "mask"], ["y"])
        m.output("y")
        let mask: [Int32] = [1, 0, 1, 0, 0, 0]
        let q = Self.values(sq * d, 1), k = Self.values(skv * d, 2), v = Self.values(skv * d, 3)
        let out = try Self.run(m, ["Q": Tensor([1, 1, sq, d], floats: q), "K": Tensor([1, 1, skv, d], floats: k),
                                   "V": Tensor([1, 1, skv, d], floats: v), "mask": Tensor([sq, skv], ints: mask)])
        let want = Self.reference(q, k, v, b: 1, hq: 1, hk: 1, sq: sq, skv: skv, d: d) { _, i, j in mask[i * skv + j] != 0 }
        let y = try #require(out["y"]).floats
        #expect(zip(y, want).allSatisfy { abs($0 - $1) < 1e-5 }, "\(y) vs \(want)")
        #expect(Array(y[d...]) == [0, 0])
    }

    @Test("head counts that do not divide and 3-d inputs without head counts are located errors")
    func errors() {
        var m = ModelBuilder()
        m.opset = 23
        m.input("Q", [1, 3, 2, 4])
        m.input("K", [1, 2, 2, 4])
        m.input("V", [1, 2, 2, 4])
        m.node("Attention", ["Q", "K", "V"], ["y"], name: "a")
        m.output("y")
        #expect(m.importMessage() == "m.onnx: node 'a' (Attention, opset 23): q heads 3 must be a multiple of the key/value heads 2")
        var flat = ModelBuilder()
        flat.opset = 23
        for name in ["Q", "K", "V"] { flat.input(name, [1, 2, 8]) }
        flat.node("Attention", ["Q", "K", "V"], ["y"], name: "a")
        flat.output("y")
        #expect(flat.importMessage()?.contains("3-d Q, K and V need the q_num_heads and kv_num_heads attributes") == true)
    }
}
