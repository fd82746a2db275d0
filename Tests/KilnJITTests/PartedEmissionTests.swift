import Foundation
import Testing
@testable import KilnJIT

/// Large modules compile in parts, one LLVM context and target machine per thread (running
/// them, and their parts in the cache: `ObjectCacheTests`, which owns KILN_CACHE_DIR).
struct PartedEmissionTests {
    /// `count` independent kernels k_i(x) = x·(i + 2).
    static func module(_ count: Int, prefix: String) -> String {
        (0..<count).map { i in "define i64 @\(prefix)\(i)(i64 %x) {\n  %y = mul i64 %x, \(i + 2)\n  ret i64 %y\n}" }.joined(separator: "\n")
    }

    @Test("a module of 20 kernels is cut into 3 parts; one of 5 kernels, or with a kernel called inside it, stays whole")
    func parts() throws {
        let target = try MachineTarget.host()
        let big = try IRModule(parsing: Self.module(20, prefix: "parts_k"), name: "big")
        let parted = try #require(try target.emitParts(big, name: "big", cache: nil, parts: 3))
        #expect(parted.objects.count == 3 && parted.objects.allSatisfy { !$0.isEmpty })
        #expect(try target.emitParts(try IRModule(parsing: Self.module(5, prefix: "small_k"), name: "small"), name: "small", cache: nil, parts: 3) == nil)
        let calling = Self.module(20, prefix: "calls_k") + "\ndefine i64 @calls_outer(i64 %x) {\n  %y = call i64 @calls_k0(i64 %x)\n  ret i64 %y\n}"
        #expect(try target.emitParts(try IRModule(parsing: calling, name: "calling"), name: "calling", cache: nil, parts: 3) == nil)
    }
}
