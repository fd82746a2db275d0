import Foundation
import KilnCodegen
import KilnIR
import Testing
@testable import KilnJIT

/// Masked vector loops (a loop shorter than the vectors, a peeled tail) on the JIT: loads and
/// stores touch only their own lanes, so memory right past a row keeps what it held, and a
/// load the vectoriser forwarded from a store reads the stored value.
struct MaskedVectorTests {
    static let target = CodegenTarget(vectorLanes: 16, vectorRegisters: 32, threads: 1, l1Bytes: 48 << 10, l2Bytes: 2 << 20)

    /// Runs `kernel` once on fresh buffers filled by `fill(buffer)`; returns every buffer.
    static func run(_ kernel: LoopKernel, fill: (Int) -> [Float]) throws -> [[Float]] {
        let module = IRModule(name: "kiln_masked_test")
        RuntimeSymbols.declare(in: module)
        var renderer = LoopRenderer(kernel: kernel)
        try renderer.render(as: kernel.name, in: module)
        let compiled = try JITBackend.sharedSession().compile(module, symbols: [kernel.name])
        let storages = kernel.buffers.map { UnsafeMutablePointer<Float>.allocate(capacity: $0.count) }
        defer { storages.forEach { $0.deallocate() } }
        for (i, (buffer, p)) in zip(kernel.buffers, storages).enumerated() {
            let values = fill(i)
            p.initialize(from: values, count: Swift.min(values.count, buffer.count))
        }
        let arguments = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: storages.count)
        defer { arguments.deallocate() }
        for (i, p) in storages.enumerated() { arguments[i] = UnsafeMutableRawPointer(p) }
        let address = try #require(compiled.symbols[kernel.name])
        let function = unsafeBitCast(try #require(UnsafeRawPointer(bitPattern: UInt(address))), to: KernelFunction.self)
        function(0, Int64(kernel.outerExtent), UnsafeMutableRawPointer(arguments), nil, 0, 0)
        return zip(kernel.buffers, storages).map { Array(UnsafeBufferPointer(start: $1, count: $0.count)) }
    }

    @Test("rows of 14 on 16 lanes: every element written, the two after each row left alone")
    func shortRows() throws {
        let (rows, width, stride) = (6, 14, 16)
        var b = KernelBuilder(name: "masked_rows", target: Self.target)
        let x = b.scratch(.f32, count: rows * 20), y = b.scratch(.f32, count: rows * stride)
        let body = b.loop(rows, .ordered) { b, r in
            b.loop(width, .dataParallel) { _, c in
                [.store(buffer: y, index: r.mul(stride).plus(c),
                        value: .binary(.mul, .load(buffer: x, index: r.mul(20).plus(c).plus(3)), .f32(2)))]
            }
        }
        let schedule = Scheduler.schedule(b.kernel(body, work: rows * width), for: Self.target)
        #expect(schedule.log.contains { $0.hasSuffix("masked to 14") }, "\(schedule.log)")
        let input = (0..<(rows * 20)).map { Float($0) }
        let out = try Self.run(schedule.kernel) { $0 == x ? input : [Float](repeating: -7, count: rows * stride) }[y]
        for r in 0..<rows {
            for c in 0..<stride {
                let want = c < width ? 2 * input[r * 20 + c + 3] : -7
                #expect(out[r * stride + c] == want, "row \(r) column \(c)")
            }
        }
    }

    @Test("a peeled tail of 5 is masked; a load of the element just stored reads the stored vector, and the store it overwrites is dropped")
    func tailAndForwarding() throws {
        let (rows, width) = (3, 21)
        var b = KernelBuilder(name: "masked_tail", target: Self.target)
        let x = b.scratch(.f32, count: rows * width), y = b.scratch(.f32, count: rows * width + 16)
        let body = b.loop(rows, .ordered) { b, r in
            b.loop(width, .dataParallel) { b, c in
                let at = r.mul(width).plus(c), v = b.fresh()
                // Store, read back, store again: the epilogue shape of a fused kernel.
                return [.store(buffer: y, index: at, value: .load(buffer: x, index: at)),
                        .bind(v, .load(buffer: y, index: at)),
                        .store(buffer: y, index: at, value: .binary(.add, .value(v), .f32(1)))]
            }
        }
        let schedule = Scheduler.schedule(b.kernel(body, work: rows * width), for: Self.target)
        #expect(schedule.log.contains { $0.hasSuffix("masked to 5") }, "\(schedule.log)")
        let text = LoopPrinter.print(schedule.kernel)
        #expect(!text.contains("= %\(y)["), "the read-back is forwarded, not loaded: \(text)")
        #expect(text.components(separatedBy: "store %\(y)[").count - 1 == 2, "one store per vector loop: the overwritten one is dropped: \(text)")
        let input = (0..<(rows * width)).map { Float($0) * 0.5 }
        let out = try Self.run(schedule.kernel) { $0 == x ? input : [Float](repeating: -7, count: rows * width + 16) }[y]
        #expect(Array(out.prefix(rows * width)) == input.map { $0 + 1 })
        #expect(out.suffix(16).allSatisfy { $0 == -7 }, "nothing written past the last row")
    }
}
