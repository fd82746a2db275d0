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
    /// The host's target machine (shared with bundles compiled for the host: `AOTCompiler`).
    let machineTarget: MachineTarget
    public let cpuName: String
    public let cpuFeatures: String
    public let triple: String
    private var moduleCount = 0
    /// Compiles run one at a time: they share the target machine (LLVM's `TargetMachine` is not
    /// safe to emit from on two threads) and the module counter. `JITBackend` serialises its
    /// own compiles; this also covers callers that compile modules directly (tests, peaks).
    private let compileLock = NSLock()

    /// What the code generator targets: this CPU's vector width and registers (from LLVM's
    /// host features), Kiln's thread count and the caches glibc reports.
    public var codegenTarget: CodegenTarget {
        CodegenTarget.cpu(features: cpuFeatures, threads: kilnThreadCount,
                          l1Bytes: sysconf(Int32(_SC_LEVEL1_DCACHE_SIZE)), l2Bytes: sysconf(Int32(_SC_LEVEL2_CACHE_SIZE)))
    }

    /// A session on this host. `cacheDirectory` names the on-disk cache's folder; nil takes it
    /// from the environment (`ObjectCache.fromEnvironment`). Tests name their own folder here:
    /// setting `KILN_CACHE_DIR` would change every concurrently running test's cache too.
    public init(cacheDirectory: URL? = nil) throws {
        cache = cacheDirectory.map { ObjectCache(directory: $0) } ?? ObjectCache.fromEnvironment()
        let host = try MachineTarget.host()
        machineTarget = host
        triple = host.triple
        cpuName = host.cpu
        cpuFeatures = host.features

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
        /// The cache keys the module's objects are stored under (empty without a cache).
        var objectKeys: [String] = []
    }

    /// Where compiled modules are kept between processes (nil: `KILN_CACHE_DIR=off`).
    public var cacheDirectory: URL? { cache?.directory }
    let cache: ObjectCache?

    /// Removes every compiled module from the on-disk cache; returns how many.
    public func clearCache() -> Int { cache?.clear() ?? 0 }

    /// The LLVM major version Kiln was built against.
    public static var llvmVersion: Int { llvmMajorVersion }

    /// Parses LLVM IR text, then compiles it like a built module (hand-written modules and
    /// tests; Kiln's code generator builds modules through the C API). IR LLVM rejects is a
    /// diagnostic naming a file it was written to.
    public func compile(_ ir: String, symbols: [String], keepOptimizedIR: Bool = false) throws -> Compiled {
        let name = compileLock.withLock {
            moduleCount += 1
            return "kiln_module_\(moduleCount)_text"
        }
        let module: IRModule
        do {
            module = try IRModule(parsing: ir, name: name)
        } catch let d as Diagnostic {
            throw Diagnostic("LLVM rejected the generated IR: \(d.message); IR written to \(MachineTarget.dumpRejected(ir, name))")
        }
        return try compile(module, symbols: symbols, keepOptimizedIR: keepOptimizedIR)
    }

    /// Verifies, optimises and adds `module`, then looks up `symbols`. Machine code is taken
    /// from the on-disk cache when the same module text was compiled for this target, CPU and
    /// LLVM version before (unless the optimised IR is wanted), and stored there otherwise. A
    /// module the verifier rejects is written to a file whose path is in the error. The module
    /// is optimised in place: print it (`moduleText`) before, not after.
    func compile(_ module: IRModule, symbols: [String], keepOptimizedIR: Bool = false) throws -> Compiled {
        compileLock.lock()
        defer { compileLock.unlock() }
        let start = Date()
        moduleCount += 1
        let name = "kiln_module_\(moduleCount)"
        if !keepOptimizedIR, let parted = try machineTarget.emitParts(module, name: name, cache: cache, parts: Swift.min(kilnThreadCount, 4)) {
            try add(parted.objects, name: name, cached: parted.fromCache)
            return Compiled(symbols: try lookup(symbols), moduleText: parted.text, optimizedIR: "",
                            seconds: Date().timeIntervalSince(start), fromCache: parted.fromCache, objectKeys: parted.keys)
        }
        let emitted = try machineTarget.emitObject(module, name: name, cache: cache, keepOptimizedIR: keepOptimizedIR)
        try add([emitted.object], name: name, cached: emitted.fromCache)
        return Compiled(symbols: try lookup(symbols), moduleText: emitted.text, optimizedIR: emitted.optimizedIR,
                        seconds: Date().timeIntervalSince(start), fromCache: emitted.fromCache, objectKeys: [emitted.key])
    }

    /// Adds compiled objects (a step record's, from the cache) and looks up `symbols`.
    func addObjects(_ objects: [Data], symbols: [String]) throws -> [String: UInt64] {
        compileLock.lock()
        defer { compileLock.unlock() }
        moduleCount += 1
        try add(objects, name: "kiln_module_\(moduleCount)", cached: true)
        return try lookup(symbols)
    }

    /// Hands object files to the JIT (which takes ownership of the copies). The caller holds
    /// `compileLock`.
    private func add(_ objects: [Data], name: String, cached: Bool) throws {
        for (index, object) in objects.enumerated() {
            let buffer = object.withUnsafeBytes { raw in
                LLVMCreateMemoryBufferWithMemoryRangeCopy(raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, "\(name).part\(index)")
            }
            try Self.check(LLVMOrcLLJITAddObjectFile(jit, LLVMOrcLLJITGetMainJITDylib(jit), buffer), cached ? "adding a cached object" : "adding the module")
        }
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
}
