import Dispatch
import Foundation
import KilnIR
import KilnRuntime

/// What generated code calls back into: shared kernels for the ops the JIT does not compile,
/// and the parallel-for that splits large elementwise kernels across cores.
final class JITRuntimeContext {
    var sites: [PreparedKernel] = []
    var step = 0
    var error: Error?
}

/// `void run_site(ctx, site, pointers)`: runs prepared kernel `site` on raw buffers. A failure
/// (say, a label out of range) is kept in the context and rethrown after the step returns.
let runSiteEntry: @convention(c) (UnsafeMutableRawPointer?, Int64, UnsafePointer<UnsafeMutableRawPointer?>?) -> Void = { ctx, site, pointers in
    guard let ctx, let pointers else { return }
    let context = Unmanaged<JITRuntimeContext>.fromOpaque(ctx).takeUnretainedValue()
    guard context.error == nil else { return }
    do { try context.sites[Int(site)].run(pointers, step: context.step) } catch { context.error = error }
}

typealias RowKernel = @convention(c) (Int64, Int64, UnsafeMutableRawPointer?) -> Void

/// Threads used by elementwise kernels: one per core. OpenBLAS uses the same cores, but never
/// at the same time (GEMMs and elementwise kernels run one after the other), so nothing is
/// oversubscribed.
let kernelThreads = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)

/// `void parallel_for(kernel, rows, pointers)`: contiguous row ranges, one per core.
let parallelForEntry: @convention(c) (UnsafeMutableRawPointer?, Int64, UnsafeMutableRawPointer?) -> Void = { kernel, rows, pointers in
    guard let kernel else { return }
    let body = unsafeBitCast(kernel, to: RowKernel.self)
    let chunks = Int64(Swift.min(kernelThreads, Int(Swift.max(rows, 1))))
    DispatchQueue.concurrentPerform(iterations: Int(chunks)) { c in
        body(rows * Int64(c) / chunks, rows * Int64(c + 1) / chunks, pointers)
    }
}

enum EntryAddresses {
    static var runSite: Int { unsafeBitCast(runSiteEntry, to: Int.self) }
    static var parallelFor: Int { unsafeBitCast(parallelForEntry, to: Int.self) }
}
