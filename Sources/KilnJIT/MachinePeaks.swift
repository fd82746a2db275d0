import Foundation
import KilnCodegen
import KilnIR
import KilnSupport

/// The machine's own limits, measured with generated code (not taken from a data sheet): the
/// f32 FMA throughput of every thread running independent vector multiply-add chains, and the
/// memory bandwidth of a STREAM triad a[i] = b[i] + s·c[i] over arrays far larger than the
/// caches. `kiln bench --profile` prints each kernel's GFLOP/s and GB/s beside them.
public struct MachinePeaks: Sendable {
    public let gflops: Double
    public let gigabytesPerSecond: Double

    /// Measures both (about half a second).
    public static func measure(session: JITSession) throws -> MachinePeaks {
        let target = session.codegenTarget
        let lanes = target.vectorLanes, threads = target.threads
        guard let vector = ScalarType.vector(lanes) else { throw Diagnostic("no \(lanes)-lane vectors") }
        // FMA: per thread, `chains` independent accumulators (enough to cover the FMA latency).
        let chains = Swift.min(12, target.vectorRegisters - 4), iterations = 1 << 20
        var b = KernelBuilder(name: "peak_fma", target: target)
        let out = b.scratch(.f32, count: threads * lanes)
        let body = b.loop(threads, .dataParallel) { b, thread in
            var stmts: [Stmt] = []
            var accumulators: [Int] = []
            for c in 0..<chains {
                let v = b.fresh()
                stmts.append(.declare(v, vector, .splat(.f32(Float(c) * 1e-3), lanes: lanes)))
                accumulators.append(v)
            }
            stmts += b.loop(iterations, .ordered) { _, _ in
                accumulators.map { .assign($0, .fma(.value($0), .splat(.f32(0.999_999), lanes: lanes), .splat(.f32(1e-7), lanes: lanes))) }
            }
            var sum = Expr.value(accumulators[0])
            for a in accumulators.dropFirst() { sum = .binary(.add, sum, .value(a)) }
            return stmts + [.vectorStore(buffer: out, index: thread.mul(lanes), value: sum)]
        }
        var fma = Schedule(b.kernel(body, work: 0))
        try fma.parallelize(1)
        let flops = Double(2 * lanes * chains * iterations * threads)
        // Triad over 3 × 64 MiB.
        let count = 16 << 20
        var t = KernelBuilder(name: "peak_triad", target: target)
        let (a, x, y) = (t.scratch(.f32, count: count), t.scratch(.f32, count: count), t.scratch(.f32, count: count))
        let triad = t.loop(count / 4096, .dataParallel) { t, block in
            t.loop(4096, .dataParallel) { _, i in
                let at = block.mul(4096).plus(i)
                return [.store(buffer: a, index: at, value: .fma(.f32(3), .load(buffer: y, index: at), .load(buffer: x, index: at)))]
            }
        }
        let triadKernel = Scheduler.schedule(t.kernel(triad, work: 3 * count), for: target).kernel
        let bytes = Double(3 * 4 * count)
        let seconds = try time([fma.kernel, triadKernel], session: session)
        return MachinePeaks(gflops: flops / seconds[0] / 1e9, gigabytesPerSecond: bytes / seconds[1] / 1e9)
    }

    /// Best of three runs of each kernel (split across threads when its outer loop is parallel).
    private static func time(_ kernels: [LoopKernel], session: JITSession) throws -> [Double] {
        let module = IRModule(name: "kiln_machine_peaks")
        RuntimeSymbols.declare(in: module)
        for kernel in kernels {
            var renderer = LoopRenderer(kernel: kernel)
            try renderer.render(as: kernel.name, in: module)
        }
        let compiled = try session.compile(module, symbols: kernels.map(\.name))
        var results: [Double] = []
        for kernel in kernels {
            let storages = kernel.buffers.map { UnsafeMutableRawPointer.allocate(byteCount: $0.count * 4, alignment: 64) }
            defer { storages.forEach { $0.deallocate() } }
            for (buffer, pointer) in zip(kernel.buffers, storages) { pointer.initializeMemory(as: Float.self, repeating: 1, count: buffer.count) }
            let arguments = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: storages.count)
            defer { arguments.deallocate() }
            for (i, p) in storages.enumerated() { arguments[i] = p }
            guard let address = compiled.symbols[kernel.name], let pointer = UnsafeRawPointer(bitPattern: UInt(address)) else {
                throw Diagnostic("internal: \(kernel.name) was not compiled")
            }
            let function = unsafeBitCast(pointer, to: KernelFunction.self)
            var best = Double.infinity
            for _ in 0..<3 {
                let start = monotonicSeconds()
                if kernel.splitsOuterLoop {
                    parallelForEntry(unsafeBitCast(function, to: UnsafeMutableRawPointer.self), Int64(kernel.outerExtent), UnsafeMutableRawPointer(arguments), nil, 0, 0)
                } else {
                    function(0, Int64(kernel.outerExtent), UnsafeMutableRawPointer(arguments), nil, 0, 0)
                }
                best = Swift.min(best, monotonicSeconds() - start)
            }
            results.append(best)
        }
        return results
    }
}
