import Dispatch
import Foundation
import KilnIR
import KilnRuntime
import KilnSupport

/// What generated code calls back into — only the thread pool and error reporting; every op
/// is compiled. Both are defined in the JIT under fixed names (`kiln_parallel_for`,
/// `kiln_fail`), so modules hold no process addresses and print the same every run.
final class JITRuntimeContext {
    /// The first failure of the running step: (global failure number, two reported values).
    var failure: (id: Int, a: Int64, b: Int64)?
    /// Set by `kiln_fail`; the step function stops after a kernel that set it.
    let status = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
    let lock = NSLock()

    init() { status.initialize(to: 0) }
    deinit { status.deallocate() }
}

/// `void kiln_fail(ctx, id, a, b)`: a kernel found bad data (a label out of range).
let failEntry: @convention(c) (UnsafeMutableRawPointer?, Int64, Int64, Int64) -> Void = { ctx, id, a, b in
    guard let ctx else { return }
    let context = Unmanaged<JITRuntimeContext>.fromOpaque(ctx).takeUnretainedValue()
    context.lock.lock()
    if context.failure == nil { context.failure = (Int(id), a, b) }
    context.status.pointee = 1
    context.lock.unlock()
}

typealias KernelFunction = @convention(c) (Int64, Int64, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int64, Int64) -> Void

/// Threads used by generated kernels: one per core this process may use (`kilnThreadCount`). OpenBLAS uses the same cores, but never
/// at the same time (GEMMs and loops run one after the other), so nothing is oversubscribed.
let kernelThreads = kilnThreadCount

/// `void kiln_parallel_for(kernel, extent, buffers, ctx, step, failures)`: ranges of the kernel's
/// outer loop — claimed chunk by chunk on the persistent `KernelPool`, or one per core on the
/// dispatch queue when the pool is busy with another thread's step.
let parallelForEntry: @convention(c) (UnsafeMutableRawPointer?, Int64, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int64, Int64) -> Void = {
    kernel, extent, buffers, ctx, step, failures in
    guard let kernel else { return }
    let body = unsafeBitCast(kernel, to: KernelFunction.self)
    if KernelPool.shared.run(body, extent: extent, arguments: buffers, context: ctx, step: step, failures: failures) { return }
    let chunks = Int64(Swift.min(kernelThreads, Int(Swift.max(extent, 1))))
    DispatchQueue.concurrentPerform(iterations: Int(chunks)) { c in
        body(extent * Int64(c) / chunks, extent * Int64(c + 1) / chunks, buffers, ctx, step, failures)
    }
}

enum RuntimeSymbols {
    /// The runtime entry points by the names generated code declares.
    static var all: [String: UInt64] {
        ["kiln_parallel_for": UInt64(UInt(bitPattern: unsafeBitCast(parallelForEntry, to: Int.self))),
         "kiln_fail": UInt64(UInt(bitPattern: unsafeBitCast(failEntry, to: Int.self)))]
    }

    /// Declares what every module may call outside itself (OpenBLAS's sgemm, the runtime's
    /// thread pool and failure hook), so a module names exactly these and LLVM intrinsics.
    static func declare(in module: IRModule) {
        let float = IRType.f32.pointer
        _ = module.function("cblas_sgemm", .void, [.i32, .i32, .i32, .i32, .i32, .i32, .f32, float, .i32, float, .i32, .f32, float, .i32])
        _ = module.function("kiln_parallel_for", .void, [IRType.i8.pointer, .i64, float.pointer, IRType.i8.pointer, .i64, .i64])
        _ = module.function("kiln_fail", .void, [IRType.i8.pointer, .i64, .i64, .i64])
    }
}
