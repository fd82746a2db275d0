import Foundation
import KilnCodegen
import KilnIR
import KilnRuntime
import KilnTensor
import Testing
@testable import KilnJIT

/// Loads of every other element (stride-2 windows: pooling, a strided convolution's phase
/// split) vectorise as two vector loads and their even lanes; masks built from NaN tests
/// (`max`'s NaN propagation) vectorise with them.
struct StridedLoadTests {
    @Test("every other element of a row, 16 at a time and in a masked tail of 5, into a row with sentinels after it")
    func everyOtherElement() throws {
        let (rows, width) = (3, 21)
        var b = KernelBuilder(name: "strided_rows", target: MaskedVectorTests.target)
        let x = b.scratch(.f32, count: rows * 2 * width), y = b.scratch(.f32, count: rows * (width + 3))
        let body = b.loop(rows, .ordered) { b, r in
            b.loop(width, .dataParallel) { _, c in
                [.store(buffer: y, index: r.mul(width + 3).plus(c), value: .load(buffer: x, index: r.mul(2 * width).plus(c.mul(2)).plus(1)))]
            }
        }
        let schedule = Scheduler.schedule(b.kernel(body, work: rows * width), for: MaskedVectorTests.target)
        let text = LoopPrinter.print(schedule.kernel)
        #expect(text.contains("...+16 step 2]"), "\(text)")
        #expect(schedule.log.contains { $0.hasSuffix("masked to 5") }, "\(schedule.log)")
        let input = (0..<(rows * 2 * width)).map { Float($0) }
        let out = try MaskedVectorTests.run(schedule.kernel) { $0 == x ? input : [Float](repeating: -7, count: rows * (width + 3)) }[y]
        for r in 0..<rows {
            for c in 0..<(width + 3) {
                #expect(out[r * (width + 3) + c] == (c < width ? input[r * 2 * width + 2 * c + 1] : -7), "row \(r) column \(c)")
            }
        }
    }

    @Test("stride-2 max pooling vectorised equals the interpreter bit for bit, NaN and ±inf included")
    func maxPoolWithNaN() throws {
        let text = "graph g {\n input x: f32[1, 3, 11, 45]\n y = max_pool2d(x, window=[3, 3], stride=[2, 2], padding=[1, 1])\n output y\n}"
        let graph = try inferTypes(try Parser.parse(text))
        var values: [Float] = (0..<(3 * 11 * 45)).map { (i: Int) -> Float in Float((i * 7919) % 101) - 50 }
        for i in stride(from: 5, to: values.count, by: 37) { values[i] = .nan }
        for i in stride(from: 11, to: values.count, by: 53) { values[i] = .infinity }
        for i in stride(from: 17, to: values.count, by: 41) { values[i] = -.infinity }
        let feeds = ["x": Tensor([1, 3, 11, 45], floats: values)]
        var s1: [String: Tensor] = [:], s2: [String: Tensor] = [:]
        let want = try #require(try Interpreter(graph: graph).run(inputs: feeds, state: &s1, step: 0)["y"]).floats
        let backend = try JITBackend(graph: graph, target: MaskedVectorTests.target)
        let got = try #require(try backend.run(inputs: feeds, state: &s2, step: 0)["y"]).floats
        let loops = LoopPrinter.print(lowered: try Lowering.lower(graph, target: MaskedVectorTests.target), scheduledFor: MaskedVectorTests.target)
        #expect(loops.contains("step 2]"), "the pooling loads vectorised")
        #expect(want.count == got.count && want.contains { $0.isNaN })
        let differing = zip(want, got).filter { (a: Float, b: Float) -> Bool in !(a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN)) }
        #expect(differing.isEmpty, "\(differing.count) differ, first \(String(describing: differing.first))")
    }
}
