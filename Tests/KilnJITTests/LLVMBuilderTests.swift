import CLLVM
import Foundation
import KilnCodegen
import KilnIR
import KilnPasses
import Testing
@testable import KilnJIT

/// The C-API builder under the code generator: typed checks before LLVM sees an instruction,
/// the metadata the C API cannot make directly (distinct access groups, self-referential loop
/// IDs, `reassoc`), and the LLVM version the build asked for.
struct LLVMBuilderTests {
    @Test("a mistyped instruction is recorded as an error, never handed to LLVM")
    func typeChecks() throws {
        let module = IRModule(name: "checks")
        let f = FunctionBuilder(module: module, function: module.define("f", .void, [IRType.f32.pointer]))
        let p = f.parameter(0, IRType.f32.pointer, name: "p")
        #expect(f.errors.isEmpty)
        _ = f.binary(LLVMFAdd, .i64(1), .i64(2))
        #expect(f.errors.count == 1, "fadd on i64")
        f.store(.i64(1), p)
        #expect(f.errors.count == 2, "an i64 stored through a float pointer")
        _ = f.select(.i64(0), .f32(1), .f32(2))
        #expect(f.errors.count == 3, "select on an i64 condition")
        _ = f.elementPointer(.i64(3), .i64(0))
        #expect(f.errors.count == 4, "address arithmetic on a non-pointer")
        _ = f.call("g", .f32, [.f32(1)])
        #expect(f.errors.count == 4)
        _ = f.call("g", .f32, [.i64(1)])
        #expect(f.errors.count == 5, "a call disagreeing with the callee's declaration")
        _ = f.compare("olt", .f32(1), .i32(1))
        #expect(f.errors.count == 6, "a comparison of mismatched operands")
    }

    /// A module with a data-parallel scalar loop and a reduction: LLVM's verifier accepts it, and
    /// its text shows what the vectoriser relies on.
    @Test("access groups are distinct, loop IDs refer to themselves, reductions are reassoc; the verifier accepts the module")
    func loopMetadata() throws {
        let text = "graph g {\n input x: f32[37, 13]\n y = reduce_sum(exp(x), axes=[1])\n z = tanh(x)\n output y\n output z\n}"
        var manager = PassManager([Fusion(), MemoryPlanner()])
        let graph = try manager.run(try inferTypes(try Parser.parse(text)))
        var compiler = StepCompiler(graph: graph, prefix: "meta")
        let (module, _, _) = try compiler.compile()
        let ir = module.text
        #expect(ir.contains("= distinct !{}"), "an access group")
        #expect(ir.contains("llvm.loop.parallel_accesses"))
        #expect(ir.range(of: #"!(\d+) = distinct !\{!\1, "#, options: .regularExpression) != nil, "a self-referential loop ID")
        #expect(ir.contains("fadd reassoc"))
        var message: UnsafeMutablePointer<CChar>?
        let broken = LLVMVerifyModule(module.module, LLVMReturnStatusAction, &message)
        let reason = message.map { String(cString: $0) } ?? ""
        LLVMDisposeMessage(message)
        #expect(broken == 0, "\(reason)")
    }

    /// A GEMM's unit loop holds its tiles' loops only under a `when`: it is not innermost, so it
    /// gets no `parallel_accesses` / `vectorize.enable` (forced, LLVM fails on it and prints
    /// "loop not vectorized" warnings); the loop inside the `when` does.
    @Test("a loop holding a loop under a when is not innermost: only the inner loop asks LLVM to vectorise")
    func innermostThroughWhen() throws {
        let target = CodegenTarget(vectorLanes: 16, vectorRegisters: 32, threads: 1, l1Bytes: 48 << 10, l2Bytes: 2 << 20)
        var b = KernelBuilder(name: "unit_loop", target: target)
        let x = b.scratch(.f32, count: 64 * 32)
        let body = b.loop(64, .dataParallel) { b, u in
            [.when(u.compare(.lt, .i64(60)), then: b.loop(32, .dataParallel) { _, c in
                [.store(buffer: x, index: u.mul(32).plus(c), value: .f32(1))]
            }, otherwise: [])]
        }
        let kernel = b.kernel(body, work: 64 * 32)
        let module = IRModule(name: "innermost")
        RuntimeSymbols.declare(in: module)
        var renderer = LoopRenderer(kernel: kernel)
        try renderer.render(as: kernel.name, in: module)
        let text = module.text
        #expect(text.components(separatedBy: "!\"llvm.loop.parallel_accesses\"").count - 1 == 1, "\(text)")
        #expect(text.components(separatedBy: "!\"llvm.loop.vectorize.enable\"").count - 1 == 1, "\(text)")
    }

    @Test("pointers are opaque from LLVM 15 on and typed on LLVM 14")
    func pointerKind() {
        let module = IRModule(name: "pointers")
        _ = module.define("f", .void, [IRType.f32.pointer])
        let text = module.text
        if JITSession.llvmVersion >= 15 {
            #expect(text.contains("declare void @f(ptr)"), "\(text)")
        } else {
            #expect(text.contains("declare void @f(float*)"), "\(text)")
        }
    }

    /// `make test-llvm` and `LLVM_VERSION=19 make test` set LLVM_VERSION: the binary under test
    /// must really be linked against that LLVM, not fall back to the default.
    @Test("the JIT runs on the LLVM the build asked for")
    func linkedVersion() throws {
        let asked = ProcessInfo.processInfo.environment["LLVM_VERSION"].flatMap(Int.init) ?? 14
        #expect(JITSession.llvmVersion == asked)
    }
}
