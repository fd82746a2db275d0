import Foundation
import KilnCodegen
import KilnIR
import Testing
@testable import KilnJIT

/// Reductions accumulated in vector lanes (`Schedule.vectorizeReduction`) on the JIT: sums,
/// NaN-ignoring and NaN-propagating maxima, and minima over rows whose lengths leave tails,
/// with ±0, ±inf and NaN placed in every lane position, against the same rows reduced in order.
struct ReductionVectorTests {
    static let target = CodegenTarget(vectorLanes: 16, vectorRegisters: 32, threads: 1, l1Bytes: 48 << 10, l2Bytes: 2 << 20)

    /// Each row reduced by `accumulate` from `initial`, on the JIT with the reduction vectorised.
    static func jit(_ rows: [[Float]], initial: Float, accumulate: @escaping (Expr, Expr) -> Expr) throws -> [Float] {
        let n = rows[0].count
        var b = KernelBuilder(name: "reduce_rows_" + UUID().uuidString.replacingOccurrences(of: "-", with: ""), target: Self.target)
        let x = b.scratch(.f32, count: rows.count * n), y = b.scratch(.f32, count: rows.count)
        var inner = -1
        let body = b.loop(rows.count, .ordered) { b, r in
            let acc = b.fresh()
            let loop = b.loop(n, .ordered) { _, c in
                if case .loopVar(let v) = c { inner = v }
                return [.assign(acc, accumulate(.value(acc), .load(buffer: x, index: r.mul(n).plus(c))))]
            }
            return [.declare(acc, .f32, .f32(initial))] + loop + [.store(buffer: y, index: r, value: .value(acc))]
        }
        var s = Schedule(b.kernel(body, work: rows.count * n))
        try s.vectorizeReduction(inner, lanes: 16)
        return try MaskedVectorTests.run(s.kernel) { $0 == x ? rows.flatMap { $0 } : [] }[y]
    }

    /// Rows of `n` ordinary values with `special` written at each position in turn, and rows
    /// without it: mixed signs, all negative, all positive (where a wrong identity would show).
    static func rows(_ n: Int, special: Float) -> [[Float]] {
        let base = (0..<n).map { Float(($0 * 7) % 11) - 5 }
        return [base, base.map { -Swift.abs($0) - 1 }, base.map { Swift.abs($0) + 1 }]
            + (0..<n).map { i in var row = base; row[i] = special; return row }
    }

    static func same(_ a: Float, _ b: Float) -> Bool { a == b || (a.isNaN && b.isNaN) }

    @Test("sums of 21, 35 and 49: exact on integers, inf, −inf + inf = NaN, NaN anywhere", arguments: [21, 35, 49])
    func sums(n: Int) throws {
        for special in [Float.infinity, -.infinity, .nan, -0.0, 1e30] {
            var rows = Self.rows(n, special: special)
            rows.append([Float](repeating: -0.0, count: n))
            var mixed = Self.rows(n, special: 0)[0]
            mixed[0] = .infinity
            mixed[n - 1] = -.infinity
            rows.append(mixed)
            let got = try Self.jit(rows, initial: 0) { .binary(.addReassoc, $0, $1) }
            for (row, value) in zip(rows, got) {
                let want = row.reduce(Float(0), +)
                #expect(Self.same(value, want), "n \(n) special \(special): \(value), want \(want)")
            }
        }
    }

    @Test("max ignoring NaN (≥), max propagating NaN (> or NaN), min (<): every position of ±inf, NaN, ±0", arguments: [17, 49])
    func extremes(n: Int) throws {
        typealias Reduction = (initial: Float, expr: (Expr, Expr) -> Expr, swift: (Float, Float) -> Float)
        let reductions: [Reduction] = [
            (-.infinity, { acc, x in .select(x.compare(.ge, acc), x, acc) }, { acc, x in x >= acc ? x : acc }),
            (-.infinity, { acc, x in .select(x.compare(.gt, acc).or(.unary(.isNaN, x)), x, acc) }, { acc, x in x > acc || x.isNaN ? x : acc }),
            (.infinity, { acc, x in .select(x.compare(.lt, acc), x, acc) }, { acc, x in x < acc ? x : acc }),
        ]
        for (i, reduction) in reductions.enumerated() {
            for special in [Float.infinity, -.infinity, .nan, -0.0, 0.0] {
                let rows = Self.rows(n, special: special)
                let got = try Self.jit(rows, initial: reduction.initial, accumulate: reduction.expr)
                for (row, value) in zip(rows, got) {
                    let want = row.reduce(reduction.initial, reduction.swift)
                    #expect(Self.same(value, want), "reduction \(i), n \(n), special \(special): \(value), want \(want)")
                }
            }
        }
    }
}
