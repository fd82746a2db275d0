import CLLVM
import KilnIR

/// The step program of a bundle as a function in its module,
/// `i32 NAME_step(float** table, float** args, i8* ctx, i64 step)`: what `JITBackend.run`
/// does from Swift, compiled. For each call of the schedule it copies the call's buffers from
/// the table (one pointer per slot) into its argument array, then calls the kernel — through
/// `NAME_parallel_for(kernel, extent, args, ctx, step, failures)` when the JIT would split its
/// outer loop across threads — and after a kernel that can fail asks `NAME_status(ctx)`,
/// returning 1 (the rest of the step skipped) if it did. The runtime entry points the kernels
/// call are renamed to the bundle's prefix, so two bundles link into one program.
enum StepProgram {
    /// Runtime entry points generated code calls, renamed `NAME_…` in a bundle.
    static let entryPoints = ["parallel_for", "fail", "status"]

    static func render(_ compiler: StepCompiler, name: String, in module: IRModule) throws {
        let buffers = IRType.f32.pointer.pointer, bytes = IRType.i8.pointer
        let function = module.define("\(name)_step", .i32, [buffers, buffers, bytes, .i64])
        let f = FunctionBuilder(module: module, function: function)
        let table = f.parameter(0, buffers, name: "table"), args = f.parameter(1, buffers, name: "args")
        let ctx = f.parameter(2, bytes, name: "ctx"), step = f.parameter(3, .i64, name: "step")
        var offset = 0
        for call in compiler.calls {
            for (i, slot) in call.slots.enumerated() {
                let base = f.load(f.elementPointer(table, .i64(slot)))
                let pointer = call.offset(i) == 0 ? base : f.elementPointer(base, .i64(call.offset(i)))
                f.store(pointer, f.elementPointer(args, .i64(offset + i)))
            }
            let arguments = f.elementPointer(args, .i64(offset))
            let failures = IRValue.i64(call.failureBase ?? 0)
            if call.parallel {
                let kernel = module.function(call.function, .void, LoopRenderer.parameterTypes).value
                guard let address = LLVMConstBitCast(kernel, module.type(bytes)) else {
                    throw Diagnostic("internal: the address of \(call.function)")
                }
                f.callVoid("kiln_parallel_for", [IRValue(address, bytes), .i64(call.extent), arguments, ctx, step, failures])
            } else {
                f.callVoid(call.function, [.i64(0), .i64(call.extent), arguments, ctx, step, failures])
            }
            offset += call.slots.count
            if call.failureBase != nil {
                let status = f.call("kiln_status", .i64, [ctx])
                let (stop, next) = (f.label("stop"), f.label("next"))
                f.branch(f.compare("ne", status, .i64(0)), stop, next)
                f.begin(stop)
                f.ret(.i32(1))
                f.begin(next)
            }
        }
        f.ret(.i32(0))
        f.finish()
        if let error = f.errors.first { throw Diagnostic("internal: code generation of \(name)_step: \(error)") }
        for entry in entryPoints {
            guard let declared = LLVMGetNamedFunction(module.module, "kiln_\(entry)") else { continue }
            let renamed = "\(name)_\(entry)"
            LLVMSetValueName2(declared, renamed, renamed.utf8.count)
        }
    }

    /// Argument slots the step program fills, in all (the size of the `args` array).
    static func argumentCount(_ compiler: StepCompiler) -> Int {
        compiler.calls.reduce(0) { $0 + $1.slots.count }
    }
}
