import KilnIR
import Testing
@testable import KilnCodegen

/// Constant index offsets move out of kernels into their calls, so kernels that differ only in
/// where they read or write share one function; what cannot move stays.
struct BaseOffsetsTests {
    /// A copy of row-major x[:, t, :] (x: f32[4, 6, 8]) into y: f32[4, 8].
    static func slice(_ t: Int) -> LoopKernel {
        let body: [Stmt] = [.loop(Loop(variable: 1, extent: 4, axis: .dataParallel, body: [
            .loop(Loop(variable: 2, extent: 8, axis: .dataParallel, body: [
                .store(buffer: 1, index: .binary(.add, .binary(.mul, .loopVar(1), .i64(8)), .loopVar(2)),
                       value: .load(buffer: 0, index: .binary(.add, .binary(.add, .binary(.mul, .loopVar(1), .i64(48)), .i64(8 * t)), .loopVar(2)))),
            ])),
        ]))]
        return LoopKernel(name: "slice\(t)", buffers: [KernelBuffer(name: "x", type: .f32, count: 192), KernelBuffer(name: "y\(t)", type: .f32, count: 32)],
                          body: body, work: 32)
    }

    @Test("slices at different offsets become one kernel; each call keeps its offset")
    func slicesShare() {
        let (k2, o2) = BaseOffsets.hoisted(Self.slice(2))
        let (k5, o5) = BaseOffsets.hoisted(Self.slice(5))
        #expect(o2 == [16, 0] && o5 == [40, 0])
        #expect(k2.anonymous == k5.anonymous)
        #expect(Self.slice(2).anonymous != Self.slice(5).anonymous, "equal only once the offsets moved")
        // The first slice has nothing to move; it is left as it was.
        let (k0, o0) = BaseOffsets.hoisted(Self.slice(0))
        #expect(o0 == [0, 0] && k0 == Self.slice(0))
    }

    @Test("the smallest constant moves and the rest stay relative to it")
    func smallestMoves() {
        let x = Expr.loopVar(1)
        let kernel = LoopKernel(name: "k", buffers: [KernelBuffer(name: "a", type: .f32, count: 100), KernelBuffer(name: "b", type: .f32, count: 100)], body: [
            .loop(Loop(variable: 1, extent: 4, axis: .dataParallel, body: [
                .store(buffer: 1, index: .binary(.sub, .binary(.add, x, .i64(30)), .i64(3)),
                       value: .binary(.add, .load(buffer: 0, index: .binary(.add, x, .i64(12))), .load(buffer: 0, index: .binary(.add, .i64(10), x)))),
            ])),
        ], work: 4)
        let (moved, offsets) = BaseOffsets.hoisted(kernel)
        #expect(offsets == [10, 27])
        let expected: [Stmt] = [.loop(Loop(variable: 1, extent: 4, axis: .dataParallel, body: [
            .store(buffer: 1, index: x, value: .binary(.add, .load(buffer: 0, index: .binary(.add, x, .i64(2))), .load(buffer: 0, index: x))),
        ]))]
        #expect(moved.body == expected)
    }

    @Test("nothing moves for an access without a constant, a scratch buffer, or an offset past the buffer")
    func staysPut() {
        let x = Expr.loopVar(1)
        func kernel(_ buffers: [KernelBuffer], _ indices: [Expr]) -> LoopKernel {
            LoopKernel(name: "k", buffers: buffers + [KernelBuffer(name: "out", type: .f32, count: 4)], body: [
                .loop(Loop(variable: 1, extent: 4, axis: .dataParallel, body: [
                    .store(buffer: buffers.count, index: x, value: indices.dropFirst().reduce(Expr.load(buffer: 0, index: indices[0])) { .binary(.add, $0, .load(buffer: 0, index: $1)) }),
                ])),
            ], work: 4)
        }
        let a = KernelBuffer(name: "a", type: .f32, count: 100)
        #expect(BaseOffsets.hoisted(kernel([a], [.binary(.add, x, .i64(8)), x])).offsets == [0, 0], "one access has no constant")
        #expect(BaseOffsets.hoisted(kernel([KernelBuffer(name: "s", type: .f32, count: 100, isScratch: true)], [.binary(.add, x, .i64(8))])).offsets == [0, 0])
        #expect(BaseOffsets.hoisted(kernel([KernelBuffer(name: "a", type: .f32, count: 6)], [.binary(.add, x, .i64(8))])).offsets == [0, 0], "past the end")
        #expect(BaseOffsets.hoisted(kernel([a], [.binary(.add, x, .i64(-2))])).offsets == [0, 0], "before the start")
        #expect(BaseOffsets.hoisted(kernel([a], [.binary(.add, x, .i64(Int.max)), .binary(.add, .binary(.add, x, .i64(Int.max)), .i64(Int.max))])).offsets == [0, 0],
                "constants that overflow")
        #expect(BaseOffsets.hoisted(kernel([a], [.binary(.add, x, .i64(8))])).offsets == [8, 0])
    }

    @Test("a GEMM's operand offsets move too")
    func gemmOffsets() {
        var g = Gemm(a: 0, b: 1, c: 2, transposeA: false, transposeB: false, m: 2, n: 2, k: 2, lda: 4, ldb: 2, ldc: 2)
        (g.aOffset, g.bOffset) = (2, 0)
        let buffers = ["a", "b", "c"].map { KernelBuffer(name: $0, type: .f32, count: 8) }
        let (moved, offsets) = BaseOffsets.hoisted(LoopKernel(name: "k", buffers: buffers, body: [.gemm(g)], work: 8))
        #expect(offsets == [2, 0, 0])
        guard case .gemm(let h) = moved.body.first else { Issue.record("no GEMM"); return }
        #expect(h.aOffset == 0 && h.bOffset == 0 && h.cOffset == 0)
    }
}
