import CLLVM
import Foundation
import KilnCodegen
import KilnIR
import KilnSupport

#if LLVM_15_OR_LATER
private typealias SymbolMapPair = LLVMOrcCSymbolMapPair
#else
private typealias SymbolMapPair = LLVMJITCSymbolMapPair
#endif

/// One ORC LLJIT instance for the host CPU. Modules arrive built (`IRModule`, through the C
/// API) or as IR text to parse; they are verified and optimised (`default<O3>` with the loop and SLP vectorisers, target machine of
/// the host CPU so AVX2/FMA are used), then added; symbols of this process (OpenBLAS, the
/// runtime's C entry points) resolve from generated code.
public final class JITSession {
    private let jit: LLVMOrcLLJITRef
    private let targetMachine: LLVMTargetMachineRef
    public let cpuName: String
    public let cpuFeatures: String
    public let triple: String
    private var moduleCount = 0

    /// What the code generator targets: this CPU's vector width and registers (from LLVM's
    /// host features), Kiln's thread count and the caches glibc reports.
    public var codegenTarget: CodegenTarget {
        CodegenTarget.cpu(features: cpuFeatures, threads: kilnThreadCount,
                          l1Bytes: sysconf(Int32(_SC_LEVEL1_DCACHE_SIZE)), l2Bytes: sysconf(Int32(_SC_LEVEL2_CACHE_SIZE)))
    }

    public init() throws {
        LLVMInitializeX86TargetInfo()
        LLVMInitializeX86Target()
        LLVMInitializeX86TargetMC()
        LLVMInitializeX86AsmPrinter()
        LLVMInitializeX86AsmParser()

        let tripleC = LLVMGetDefaultTargetTriple()
        let cpuC = LLVMGetHostCPUName(), featuresC = LLVMGetHostCPUFeatures()
        defer { LLVMDisposeMessage(tripleC); LLVMDisposeMessage(cpuC); LLVMDisposeMessage(featuresC) }
        triple = tripleC.map { String(cString: $0) } ?? ""
        cpuName = cpuC.map { String(cString: $0) } ?? ""
        cpuFeatures = featuresC.map { String(cString: $0) } ?? ""

        var target: LLVMTargetRef?
        var message: UnsafeMutablePointer<CChar>?
        guard LLVMGetTargetFromTriple(triple, &target, &message) == 0, let target else {
            defer { LLVMDisposeMessage(message) }
            throw Diagnostic("LLVM has no target for \(triple): \(message.map { String(cString: $0) } ?? "")")
        }
        // Position-independent code of the default (small) model: the object is linked at any
        // address (and may come from the on-disk cache); calls out go through stubs.
        guard let tm = LLVMCreateTargetMachine(target, triple, cpuName, cpuFeatures, LLVMCodeGenLevelAggressive,
                                               LLVMRelocPIC, LLVMCodeModelDefault) else {
            throw Diagnostic("LLVM could not create a target machine for \(cpuName)")
        }
        targetMachine = tm

        var jtmb: LLVMOrcJITTargetMachineBuilderRef?
        try Self.check(LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb), "detecting the host")
        let builder = LLVMOrcCreateLLJITBuilder()
        LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb)
        var created: LLVMOrcLLJITRef?
        try Self.check(LLVMOrcCreateLLJIT(&created, builder), "creating the LLJIT")
        guard let created else { throw Diagnostic("LLVM returned no LLJIT") }
        jit = created

        var generator: LLVMOrcDefinitionGeneratorRef?
        try Self.check(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&generator, LLVMOrcLLJITGetGlobalPrefix(jit), nil, nil),
                       "exposing process symbols")
        LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit), generator)
        try define(RuntimeSymbols.all)
    }

    /// Defines absolute symbols (the runtime's entry points) in the main JITDylib, so generated
    /// code calls them by name.
    private func define(_ symbols: [String: UInt64]) throws {
        let flags = LLVMJITSymbolFlags(GenericFlags: UInt8(LLVMJITSymbolGenericFlagsExported.rawValue | LLVMJITSymbolGenericFlagsCallable.rawValue),
                                       TargetFlags: 0)
        var pairs = symbols.sorted { $0.key < $1.key }.map { name, address in
            SymbolMapPair(Name: LLVMOrcLLJITMangleAndIntern(jit, name),
                                  Sym: LLVMJITEvaluatedSymbol(Address: address, Flags: flags))
        }
        let unit = pairs.withUnsafeMutableBufferPointer { LLVMOrcAbsoluteSymbols($0.baseAddress, $0.count) }
        try Self.check(LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(jit), unit), "defining the runtime entry points")
    }

    deinit {
        LLVMOrcDisposeLLJIT(jit)
        LLVMDisposeTargetMachine(targetMachine)
    }

    static func check(_ error: LLVMErrorRef?, _ what: String) throws {
        guard let error else { return }
        let message = LLVMGetErrorMessage(error)
        defer { LLVMDisposeErrorMessage(message) }
        throw Diagnostic("LLVM failed \(what): \(message.map { String(cString: $0) } ?? "unknown error")")
    }

    /// The result of compiling one module.
    public struct Compiled {
        /// Address of each requested symbol.
        public var symbols: [String: UInt64]
        /// The module as built, printed (deterministic: the cache's key and `kiln dump --llvm`).
        public var moduleText: String
        /// The IR after optimisation (for `kiln dump --llvm-opt`).
        public var optimizedIR: String
        public var seconds: Double
        /// The machine code came from the on-disk cache (`ObjectCache`): nothing was optimised.
        public var fromCache = false
    }

    /// Where compiled modules are kept between processes (nil: `KILN_CACHE_DIR=off`).
    public var cacheDirectory: URL? { cache?.directory }
    private let cache = ObjectCache.fromEnvironment()

    /// Removes every compiled module from the on-disk cache; returns how many.
    public func clearCache() -> Int { cache?.clear() ?? 0 }

    /// The LLVM major version Kiln was built against.
    public static var llvmVersion: Int { llvmMajorVersion }

    /// Parses LLVM IR text, then compiles it like a built module (hand-written modules and
    /// tests; Kiln's code generator builds modules through the C API). IR LLVM rejects is a
    /// diagnostic naming a file it was written to.
    public func compile(_ ir: String, symbols: [String], keepOptimizedIR: Bool = false) throws -> Compiled {
        moduleCount += 1
        let module: IRModule
        do {
            module = try IRModule(parsing: ir, name: "kiln_module_\(moduleCount)")
        } catch let d as Diagnostic {
            throw Diagnostic("LLVM rejected the generated IR: \(d.message); IR written to \(dumpRejected(ir, "kiln_module_\(moduleCount)"))")
        }
        return try compile(module, symbols: symbols, keepOptimizedIR: keepOptimizedIR)
    }

    /// Verifies, optimises and adds `module`, then looks up `symbols`. Machine code is taken
    /// from the on-disk cache when the same module text was compiled for this target, CPU and
    /// LLVM version before (unless the optimised IR is wanted), and stored there otherwise. A
    /// module the verifier rejects is written to a file whose path is in the error. The module
    /// is optimised in place: print it (`moduleText`) before, not after.
    func compile(_ module: IRModule, symbols: [String], keepOptimizedIR: Bool = false) throws -> Compiled {
        let start = Date()
        moduleCount += 1
        let name = "kiln_module_\(moduleCount)"
        let text = module.text
        let key = ObjectCache.key(text + "\n; target \(triple) \(cpuName) \(cpuFeatures) llvm\(llvmMajorVersion)")
        if !keepOptimizedIR, let cache, let object = cache.load(key) {
            let buffer = object.withUnsafeBytes { raw in
                LLVMCreateMemoryBufferWithMemoryRangeCopy(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, name)
            }
            try Self.check(LLVMOrcLLJITAddObjectFile(jit, LLVMOrcLLJITGetMainJITDylib(jit), buffer), "adding a cached object")
            return Compiled(symbols: try lookup(symbols), moduleText: text, optimizedIR: "", seconds: Date().timeIntervalSince(start), fromCache: true)
        }
        let m = module.module
        LLVMSetTarget(m, triple)
        let layout = LLVMCreateTargetDataLayout(targetMachine)
        LLVMSetModuleDataLayout(m, layout)
        LLVMDisposeTargetData(layout)
        var message: UnsafeMutablePointer<CChar>?
        if LLVMVerifyModule(m, LLVMReturnStatusAction, &message) != 0 {
            let reason = message.map { String(cString: $0) } ?? "unknown"
            LLVMDisposeMessage(message)
            throw Diagnostic("LLVM verifier rejected the generated IR: \(reason); IR written to \(dumpRejected(text, name))")
        }
        LLVMDisposeMessage(message)
        let options = LLVMCreatePassBuilderOptions()
        LLVMPassBuilderOptionsSetLoopVectorization(options, 1)
        LLVMPassBuilderOptionsSetSLPVectorization(options, 1)
        LLVMPassBuilderOptionsSetLoopUnrolling(options, 1)
        let passError = LLVMRunPasses(m, "default<O3>", targetMachine, options)
        LLVMDisposePassBuilderOptions(options)
        try Self.check(passError, "optimising the module")
        let optimized = keepOptimizedIR ? module.text : ""
        var object: LLVMMemoryBufferRef?
        if LLVMTargetMachineEmitToMemoryBuffer(targetMachine, m, LLVMObjectFile, &message, &object) != 0 || object == nil {
            let reason = message.map { String(cString: $0) } ?? "unknown"
            LLVMDisposeMessage(message)
            throw Diagnostic("LLVM could not generate code for \(name): \(reason)")
        }
        if let cache, let start = LLVMGetBufferStart(object) {
            cache.store(key, Data(bytes: start, count: LLVMGetBufferSize(object)))
        }
        // The JIT takes ownership of the object buffer.
        try Self.check(LLVMOrcLLJITAddObjectFile(jit, LLVMOrcLLJITGetMainJITDylib(jit), object), "adding the module")
        return Compiled(symbols: try lookup(symbols), moduleText: text, optimizedIR: optimized, seconds: Date().timeIntervalSince(start))
    }

    private func lookup(_ symbols: [String]) throws -> [String: UInt64] {
        var addresses: [String: UInt64] = [:]
        for symbol in symbols {
            var address: LLVMOrcExecutorAddress = 0
            try Self.check(LLVMOrcLLJITLookup(jit, &address, symbol), "looking up \(symbol)")
            addresses[symbol] = address
        }
        return addresses
    }

    private func dumpRejected(_ ir: String, _ name: String) -> String {
        let path = NSTemporaryDirectory() + "\(name)-rejected-\(getpid()).ll"
        try? ir.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
