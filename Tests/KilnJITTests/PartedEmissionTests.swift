import Foundation
import Testing
@testable import KilnJIT

/// Large modules compile in parts, one LLVM context and target machine per thread (running
/// them, and their parts in the cache: `ObjectCacheTests`, with a folder of its own).
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

    @Test("parts are balanced by instructions: a large kernel gets a part of its own, the small ones share the other")
    func balanced() throws {
        let chain = (1...60).map { "  %v\($0) = add i64 %v\($0 - 1), \($0)" }.joined(separator: "\n")
        let big = "define i64 @balance_big(i64 %x) {\n  %v0 = add i64 %x, 0\n\(chain)\n  ret i64 %v60\n}"
        let module = try IRModule(parsing: Self.module(20, prefix: "balance_k") + "\n" + big, name: "balance")
        let kernels = try #require(MachineTarget.kernelFunctions(module.module))
        let assignment = MachineTarget.balancedParts(kernels, parts: 2)
        #expect(assignment.count == 21)
        let bigPart = try #require(assignment.last)
        #expect(assignment.dropLast().allSatisfy { $0 != bigPart }, "\(assignment)")
        // Three parts: the big kernel alone, the small ones split evenly between the others.
        let three = MachineTarget.balancedParts(kernels, parts: 3)
        let small = three.dropLast()
        #expect(!small.contains(three[20]) && small.filter { $0 == small.first }.count == 10, "\(three)")
    }
}
