import Foundation

/// Pins the calling thread to one CPU of those the process may run on (Linux
/// `sched_setaffinity` on the thread, through `dlsym`: Glibc declares it only under
/// `_GNU_SOURCE`, which Swift's import does not set).
enum ThreadAffinity {
    private typealias SetAffinity = @convention(c) (Int32, Int, UnsafeRawPointer) -> Int32
    private typealias GetAffinity = @convention(c) (Int32, Int, UnsafeMutableRawPointer) -> Int32
    private static let maskBytes = 128

    private static let set: SetAffinity? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_setaffinity").map { unsafeBitCast($0, to: SetAffinity.self) }
    private static let get: GetAffinity? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_getaffinity").map { unsafeBitCast($0, to: GetAffinity.self) }
    private typealias GetThreadID = @convention(c) () -> Int32
    private static let threadID: GetThreadID? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gettid").map { unsafeBitCast($0, to: GetThreadID.self) }

    /// The calling thread's kernel id (what `restore(_:thread:)` names it by); nil when unknown.
    static var currentThread: Int32? { threadID?() }

    /// The CPUs the process may run on, in order (read once, before any thread is pinned).
    static let allowed: [Int] = {
        guard let get else { return [] }
        var mask = [UInt8](repeating: 0, count: maskBytes)
        guard mask.withUnsafeMutableBytes({ get(0, maskBytes, $0.baseAddress!) }) == 0 else { return [] }
        return (0..<maskBytes * 8).filter { mask[$0 / 8] & (1 << ($0 % 8)) != 0 }
    }()

    /// Pins the calling thread to the `index`-th allowed CPU (modulo their number); false when
    /// the CPUs are unknown or the kernel refused.
    @discardableResult
    static func pin(toAllowed index: Int) -> Bool {
        let cpus = allowed
        guard let set, !cpus.isEmpty else { return false }
        let cpu = cpus[index % cpus.count]
        var mask = [UInt8](repeating: 0, count: maskBytes)
        mask[cpu / 8] |= 1 << (cpu % 8)
        return mask.withUnsafeBytes { set(0, maskBytes, $0.baseAddress!) } == 0
    }

    /// The calling thread's CPU mask, to give back to `restore`.
    static func current() -> [UInt8]? {
        guard let get else { return nil }
        var mask = [UInt8](repeating: 0, count: maskBytes)
        return mask.withUnsafeMutableBytes({ get(0, maskBytes, $0.baseAddress!) }) == 0 ? mask : nil
    }

    /// Gives a thread (the calling one by default) back a mask `current` returned.
    static func restore(_ mask: [UInt8], thread: Int32 = 0) {
        guard let set, mask.count == maskBytes else { return }
        _ = mask.withUnsafeBytes { set(thread, maskBytes, $0.baseAddress!) }
    }
}
