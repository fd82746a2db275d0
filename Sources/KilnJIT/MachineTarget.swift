import CLLVM
import Foundation
import KilnCodegen
import KilnIR
import KilnSupport

/// An LLVM target machine and the code it makes: verify, optimise (`default<O3>` with the loop
/// and SLP vectorisers) and emit an object file, through the on-disk `ObjectCache` keyed by
/// the module's text, triple, CPU, features and LLVM version. The JIT (the host) and
/// ahead-of-time bundles (`kiln compile`, any triple LLVM was built with) share it, so a bundle
/// compiled twice — or a bundle of the model the JIT already ran — reuses the cached object.
final class MachineTarget {
    let machine: LLVMTargetMachineRef
    let triple: String
    let cpu: String
    let features: String

    /// The architectures whose code generators are initialised (Debian's libLLVM has them all;
    /// these are the ones Kiln's code generator is tested for).
    static let architectures = ["x86_64", "aarch64"]

    private static let initialized: Void = {
        LLVMInitializeX86TargetInfo()
        LLVMInitializeX86Target()
        LLVMInitializeX86TargetMC()
        LLVMInitializeX86AsmPrinter()
        LLVMInitializeX86AsmParser()
        LLVMInitializeAArch64TargetInfo()
        LLVMInitializeAArch64Target()
        LLVMInitializeAArch64TargetMC()
        LLVMInitializeAArch64AsmPrinter()
    }()

    /// The host: LLVM's default triple, this CPU and its features.
    static func host() throws -> MachineTarget {
        _ = initialized
        let tripleC = LLVMGetDefaultTargetTriple()
        let cpuC = LLVMGetHostCPUName(), featuresC = LLVMGetHostCPUFeatures()
        defer { LLVMDisposeMessage(tripleC); LLVMDisposeMessage(cpuC); LLVMDisposeMessage(featuresC) }
        return try MachineTarget(triple: tripleC.map { String(cString: $0) } ?? "", cpu: cpuC.map { String(cString: $0) } ?? "",
                                 features: featuresC.map { String(cString: $0) } ?? "", checkCPU: false)
    }

    /// A target machine for `triple` and `cpu` (features: the CPU's own, or `features`).
    /// An unknown triple, an architecture Kiln does not generate for, or a CPU LLVM does not
    /// know for the triple is an error naming what was asked (LLVM itself only warns about the
    /// CPU on standard error and carries on with a generic one).
    init(triple: String, cpu: String, features: String = "", checkCPU: Bool = true) throws {
        _ = Self.initialized
        var target: LLVMTargetRef?
        var message: UnsafeMutablePointer<CChar>?
        guard LLVMGetTargetFromTriple(triple, &target, &message) == 0, let target else {
            defer { LLVMDisposeMessage(message) }
            throw Diagnostic("unknown target triple '\(triple)': \(message.map { String(cString: $0) } ?? "LLVM has no target for it") (Kiln generates code for \(Self.architectures.joined(separator: " and ")), e.g. x86_64-linux-gnu, aarch64-linux-gnu)")
        }
        let arch = triple.split(separator: "-").first.map(String.init) ?? triple
        guard Self.architectures.contains(arch) || arch == "arm64" || arch == "x86-64" else {
            throw Diagnostic("target '\(triple)': Kiln generates code for \(Self.architectures.joined(separator: " and ")) only")
        }
        if checkCPU {
            guard !cpu.isEmpty, cpu.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }), cpu != "help" else {
                throw Diagnostic("--cpu '\(cpu)' is not a CPU name (letters, digits, '-', '_', '.')")
            }
        }
        var created: LLVMTargetMachineRef?
        // Position-independent code of the default (small) model: the object is linked at any
        // address (a JIT, a static library, a shared one). Standard error is captured only when
        // a named CPU is to be checked (the redirection is process-wide).
        let create = {
            created = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault)
        }
        let warnings = checkCPU ? captureStandardError(create) : ""
        if !checkCPU { create() }
        guard let created else { throw Diagnostic("LLVM could not create a target machine for \(triple), CPU \(cpu)") }
        if checkCPU, warnings.contains("not a recognized processor") {
            LLVMDisposeTargetMachine(created)
            throw Diagnostic("unknown CPU '\(cpu)' for \(triple) (LLVM: \(warnings.split(separator: "\n").first ?? ""))")
        }
        machine = created
        self.triple = triple
        self.cpu = cpu
        self.features = features
    }

    deinit { LLVMDisposeTargetMachine(machine) }

    /// The architecture part of the triple (`x86_64`, `aarch64`).
    var architecture: String {
        let arch = triple.split(separator: "-").first.map(String.init) ?? triple
        return arch == "arm64" ? "aarch64" : arch == "x86-64" ? "x86_64" : arch
    }

    /// What the loop-IR code generator should assume of this machine: the host's own features
    /// when known; otherwise the architecture's baseline vector width (SSE or NEON: 4 lanes),
    /// which LLVM's vectorisers widen where the CPU allows.
    func codegenTarget(threads: Int) -> CodegenTarget {
        if !features.isEmpty {
            return CodegenTarget.cpu(features: features, threads: threads,
                                     l1Bytes: sysconf(Int32(_SC_LEVEL1_DCACHE_SIZE)), l2Bytes: sysconf(Int32(_SC_LEVEL2_CACHE_SIZE)))
        }
        return CodegenTarget(vectorLanes: 4, vectorRegisters: architecture == "aarch64" ? 32 : 16, threads: threads,
                             l1Bytes: 32 << 10, l2Bytes: 512 << 10)
    }

    /// The object file of `module`: from `cache` when the same module text was compiled for this
    /// target, CPU, features and LLVM version before (unless the optimised IR is wanted), else
    /// verified, optimised and emitted, then stored. A module the verifier rejects is written to
    /// a file whose path is in the error. The module is optimised in place: `text` is its text
    /// as built (the cache key, `kiln dump --llvm`).
    func emitObject(_ module: IRModule, name: String, cache: ObjectCache?, optimize: Bool = true,
                    keepOptimizedIR: Bool = false) throws -> (object: Data, text: String, optimizedIR: String, key: String, fromCache: Bool) {
        let text = module.text
        let key = objectKey(text, optimize: optimize)
        if !keepOptimizedIR, let cache, let object = cache.load(key) {
            return (object, text, "", key, true)
        }
        try verify(module.module, text: text, name: name)
        var optimized = ""
        let object = try optimizeAndEmit(module.module, name: name, optimize: optimize) {
            if keepOptimizedIR { optimized = module.text }
        }
        cache?.store(key, object)
        return (object, text, optimized, key, false)
    }

    /// The object cache's key of a module with this text, for this machine and pipeline.
    func objectKey(_ text: String, optimize: Bool = true) -> String {
        ObjectCache.key(text + "\n; target \(triple) \(cpu) \(features) llvm\(llvmMajorVersion)" + (optimize ? " \(Self.pipeline)" : " O0"))
    }

    /// LLVM's optimisation pipeline for Kiln's modules: the passes of `default<O3>` its kernels
    /// need, in O3's order. Kiln's loop IR is already tiled and mostly vectorised, so O3's other
    /// passes had little to do, yet took half of the optimiser's time: on the unrolled LSTM's
    /// Adam step, `opt` ran 0.59 s with O3 and 0.25–0.34 s with this, and the JIT's cold compile
    /// (optimiser and code generator, two threads) went from 0.9–1.5 s to 0.7–1.0 s on a Zen 3.
    /// Kept: inlining (the math library's vector functions), SROA, CSE, LICM and GVN (the loop
    /// IR recomputes addresses), loop rotation and the loop vectoriser (scalar data-parallel
    /// loops), and O3's unrolling after it: a first cut without rotation ran MobileNetV2's
    /// clipped 1×1 convolutions' step 1.2× slower, and one with LLVM's default unrolling in
    /// place of O3's ran the transformer's step 1.12–1.15× slower.
    /// With them, steps measured round-robin against O3 were within the run's noise (ResNet-18,
    /// MobileNetV2, LSTM, transformer, 1024³ GEMM) or faster (LeNet-5, 0.91–0.93).
    /// The unroller fully unrolls constant-trip loops (the GEMM micro-kernels' register tiles
    /// need it), but neither partially unrolls larger ones nor adds runtime-unrolled copies of
    /// the work-unit loops, whose trip counts are unknown: those doubled the optimised IR (an
    /// unrolled LSTM's Adam step: 1,067 KB with them) for no measured gain. Without them the
    /// LSTM's cold compile took 0.40 s against 0.68 s (medians of six alternating runs), and
    /// steps measured side by side were within the runs' noise (LSTM 0.99, LeNet-5 0.99,
    /// transformer 0.95–1.05, MLP b32 1.02, ResNet-18 b8 0.98, MobileNetV2 b8 1.01, the 32×784×256,
    /// 32×256×128 and 1024³ GEMMs 0.98–1.01).
    /// `KILN_LLVM_PIPELINE=o3` runs `default<O3>` instead (side-by-side runs).
    static let pipeline: String = {
        if getenv("KILN_LLVM_PIPELINE").map({ String(cString: $0) }) == "o3" { return "default<O3>" }
        // From LLVM 18 an instcombine named in a pipeline checks that one run reached a fixpoint
        // and aborts the process when not (LLVM 19 did, on a test's module); O3's own runs do
        // not check. LLVM 14–17 have neither the check nor the option.
        let instcombine = llvmMajorVersion >= 18 ? "instcombine<no-verify-fixpoint>" : "instcombine"
        return "cgscc(inline),function(sroa,early-cse<memssa>,\(instcombine),simplifycfg,loop(loop-rotate),loop-mssa(licm),gvn,"
            + "loop(indvars),loop-vectorize,\(instcombine),loop-unroll<O3;no-partial;no-runtime>,\(instcombine),simplifycfg)"
    }()

    /// Sets the module's triple and data layout and runs LLVM's verifier; a rejected module is
    /// written to a file whose path is in the error.
    func verify(_ m: LLVMModuleRef, text: String, name: String) throws {
        LLVMSetTarget(m, triple)
        let layout = LLVMCreateTargetDataLayout(machine)
        LLVMSetModuleDataLayout(m, layout)
        LLVMDisposeTargetData(layout)
        var message: UnsafeMutablePointer<CChar>?
        if LLVMVerifyModule(m, LLVMReturnStatusAction, &message) != 0 {
            let reason = message.map { String(cString: $0) } ?? "unknown"
            LLVMDisposeMessage(message)
            throw Diagnostic("LLVM verifier rejected the generated IR: \(reason); IR written to \(Self.dumpRejected(text, name))")
        }
        LLVMDisposeMessage(message)
    }

    /// Optimises `m` in place (`pipeline`) and emits its object file;
    /// `afterOptimizing` runs between the two (to print the optimised IR).
    func optimizeAndEmit(_ m: LLVMModuleRef, name: String, optimize: Bool = true, afterOptimizing: () -> Void = {}) throws -> Data {
        LLVMSetTarget(m, triple)
        let layout = LLVMCreateTargetDataLayout(machine)
        LLVMSetModuleDataLayout(m, layout)
        LLVMDisposeTargetData(layout)
        if optimize {
            let options = LLVMCreatePassBuilderOptions()
            LLVMPassBuilderOptionsSetLoopVectorization(options, 1)
            LLVMPassBuilderOptionsSetSLPVectorization(options, 1)
            LLVMPassBuilderOptionsSetLoopUnrolling(options, 1)
            let passError = LLVMRunPasses(m, Self.pipeline, machine, options)
            LLVMDisposePassBuilderOptions(options)
            try JITSession.check(passError, "optimising the module")
        }
        afterOptimizing()
        var message: UnsafeMutablePointer<CChar>?
        var buffer: LLVMMemoryBufferRef?
        if LLVMTargetMachineEmitToMemoryBuffer(machine, m, LLVMObjectFile, &message, &buffer) != 0 || buffer == nil {
            let reason = message.map { String(cString: $0) } ?? "unknown"
            LLVMDisposeMessage(message)
            throw Diagnostic("LLVM could not generate code for \(name) (\(triple), \(cpu)): \(reason)")
        }
        defer { LLVMDisposeMemoryBuffer(buffer) }
        guard let start = LLVMGetBufferStart(buffer) else { throw Diagnostic("LLVM emitted no object for \(name)") }
        return Data(bytes: start, count: LLVMGetBufferSize(buffer))
    }

    static func dumpRejected(_ ir: String, _ name: String) -> String {
        let path = NSTemporaryDirectory() + "\(name)-rejected-\(getpid()).ll"
        try? ir.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Runs `body` with file descriptor 2 redirected to a temporary file; returns what was written
/// (LLVM reports some problems only as warnings on standard error).
func captureStandardError(_ body: () -> Void) -> String {
    fflush(stderr)
    let path = NSTemporaryDirectory() + "kiln-stderr-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else { body(); return "" }
    unlink(path)
    let saved = dup(2)
    guard saved >= 0 else { close(fd); body(); return "" }
    dup2(fd, 2)
    body()
    fflush(stderr)
    dup2(saved, 2)
    close(saved)
    var text = [UInt8]()
    lseek(fd, 0, SEEK_SET)
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        text += chunk[0..<n]
    }
    close(fd)
    return String(decoding: text, as: UTF8.self)
}
