import CLLVM
import Foundation
import KilnCodegen
import KilnIR
import KilnRuntime
import KilnSupport

/// What `kiln compile` asks of a bundle.
public struct BundleOptions: Sendable {
    /// The prefix of every C name the bundle defines (`NAME_create`, `NAME.h`): a C identifier.
    public var name: String
    /// LLVM target triple; nil: the host (its CPU and features, the code the JIT runs).
    public var triple: String?
    /// CPU name for the triple (`skylake`, `neoverse-n1`); nil: the host CPU on the host, else
    /// the architecture's generic CPU.
    public var cpu: String?
    /// Weights inside the library (a constant blob), or beside it as `NAME.safetensors`.
    public var embedWeights: Bool
    /// Values inputs hold until the program sets them (a training step's learning rate).
    public var defaults: [String: Float]

    public init(name: String, triple: String? = nil, cpu: String? = nil, embedWeights: Bool = true, defaults: [String: Float] = [:]) {
        self.name = name
        self.triple = triple
        self.cpu = cpu
        self.embedWeights = embedWeights
        self.defaults = defaults
    }

    /// C keywords and names a bundle prefix must not be.
    static let reserved: Set<String> = ["auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
                                        "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
                                        "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
                                        "volatile", "while", "_Bool", "_Complex", "_Imaginary", "kiln", "main"]

    /// Struct tags the C library headers the runtime includes define.
    static let structTags: Set<String> = ["tm", "timespec", "timeval", "itimerspec", "sched_param", "sigevent", "sigaction", "stat",
                                          "lconv", "random_data", "drand48_data", "sigval", "sched_attr"]

    /// Why `name` cannot prefix C names, or nil when it can: a C identifier of at most 64
    /// characters, not a keyword, not starting with `_` (reserved to the implementation).
    public static func problem(withName name: String) -> String? {
        guard !name.isEmpty else { return "the bundle name is empty" }
        guard name.count <= 64 else { return "the bundle name '\(name.prefix(20))…' is longer than 64 characters" }
        guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic else {
            return "the bundle name '\(name)' must start with a letter (it prefixes C names: \(name)_create)"
        }
        guard name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }) else {
            return "the bundle name '\(name)' is not a C identifier (letters, digits and '_' only)"
        }
        guard !reserved.contains(name) else { return "the bundle name '\(name)' is a C keyword or reserved name" }
        // The runtime's own names (kb_…, kiln_…), POSIX's reserved type names (…_t) and the struct
        // tags of the headers the runtime includes would collide with `struct NAME`.
        guard !name.hasPrefix("kb"), !name.hasPrefix("kiln"), !name.hasSuffix("_t"), !Self.structTags.contains(name) else {
            return "the bundle name '\(name)' is reserved (it would collide with a name of the C runtime or the C library)"
        }
        return nil
    }
}

/// An ahead-of-time bundle: the files `kiln compile` writes, by name.
public struct CompiledBundle {
    public var files: [(name: String, bytes: [UInt8])]
    public var triple: String
    public var cpu: String
    /// Graph nodes compiled and `cblas_sgemm` calls per step (the bundle then needs OpenBLAS).
    public var compiledKernels: Int
    public var sgemmCalls: Int
    /// The kernel object came from the on-disk cache.
    public var fromCache: Bool
    public var seconds: Double
}

/// Compiles a planned graph into a bundle a C program links (like Glow's `-emit-bundle`, XLA's
/// `tfcompile`): the same kernels the JIT runs (`StepCompiler`), plus a generated step
/// function `NAME_step` that fills each kernel's argument array from the table of buffers and
/// calls the kernels in schedule order — through `NAME_parallel_for` where the JIT splits the
/// outer loop across threads — stopping after a kernel that reported bad data. The runtime the
/// JIT provides from Swift (thread pool, failure hook, buffers, the API) is a C file written
/// beside the library (`BundleRuntime`), compiled by the program's own compiler: the bundle
/// needs libc, libm, pthreads and — when kernels call `cblas_sgemm` — OpenBLAS; neither the
/// Swift runtime nor LLVM.
public enum BundleCompiler {
    /// `graph` must be typed and planned (simplify, fuse, plan-memory); `state` holds every
    /// param's and state's value (what the bundle starts from).
    public static func compile(_ graph: Graph, state: [String: Tensor], options: BundleOptions) throws -> CompiledBundle {
        if let problem = BundleOptions.problem(withName: options.name) { throw Diagnostic(problem) }
        guard let plan = graph.memoryPlan else { throw Diagnostic("internal: the bundle's graph has no memory plan") }
        for param in graph.params {
            guard let t = state[param.name] else { throw Diagnostic("no value for \(param.role.rawValue) '\(param.name)' (expects \(param.type))") }
            guard t.type == param.type else { throw Diagnostic("\(param.role.rawValue) '\(param.name)' expects \(param.type), got \(t.type)") }
        }
        for name in options.defaults.keys {
            guard let input = graph.inputs.first(where: { $0.name == name }), input.type == TensorType(.f32, .scalar) else {
                throw Diagnostic("internal: default for '\(name)', which is no f32 scalar input")
            }
        }
        let start = monotonicSeconds()
        // The JIT's target machine for the host (same triple, CPU and features: the same cache
        // keys), a named one otherwise; its own instance, since target machines are not shared
        // across threads.
        let host = try MachineTarget.host()
        let cache = ObjectCache.fromEnvironment()
        let machine: MachineTarget
        if options.triple == nil && options.cpu == nil {
            machine = host
        } else {
            machine = try MachineTarget(triple: options.triple ?? host.triple, cpu: options.cpu ?? "generic")
        }
        var compiler = StepCompiler(graph: graph, prefix: options.name, target: machine.codegenTarget(threads: kilnThreadCount))
        let (module, compiled, sgemmCalls) = try compiler.compile()
        try StepProgram.render(compiler, name: options.name, in: module)
        let kernels = try machine.emitObject(module, name: options.name, cache: cache)

        let layout = BundleLayout(graph: graph, plan: plan, compiler: compiler, options: options)
        var files: [(name: String, bytes: [UInt8])] = []
        var members: [(name: String, object: Data, symbols: [String])] = [("kernels.o", kernels.object, ["\(options.name)_step"])]
        var weights: [UInt8] = []
        for (param, offset) in zip(graph.params, layout.weightOffsets) {
            weights += [UInt8](repeating: 0, count: offset - weights.count)
            if let t = state[param.name] { weights += UnsafeRawBufferPointer(start: t.storage.pointer, count: t.type.byteCount) }
        }
        if options.embedWeights {
            let blob = WeightsModule(name: "\(options.name)_weights", bytes: weights)
            let object = try machine.emitObject(blob.module, name: "\(options.name)_weights", cache: nil, optimize: false)
            members.append(("weights.o", object.object, ["\(options.name)_weights"]))
            files.append(("\(options.name)_weights.o", [UInt8](object.object)))
        } else {
            var tensors: [String: Tensor] = [:]
            for param in graph.params { tensors[param.name] = state[param.name] }
            files.append(("\(options.name).safetensors", try SafetensorsFormat.encode(tensors, metadata: ["kiln_bundle": options.name])))
        }
        files.append(("\(options.name).o", [UInt8](kernels.object)))
        files.append(("lib\(options.name).a", StaticArchive.make(members)))
        files.append(("\(options.name).h", Array(BundleHeader.text(layout).utf8)))
        files.append(("\(options.name)_runtime.c", Array(BundleRuntime.text(layout).utf8)))
        return CompiledBundle(files: files, triple: machine.triple, cpu: machine.cpu, compiledKernels: compiled, sgemmCalls: sgemmCalls,
                      fromCache: kernels.fromCache, seconds: monotonicSeconds() - start)
    }
}

/// A module holding only `name`: the weights as one 64-byte-aligned constant array.
struct WeightsModule {
    let module: IRModule

    init(name: String, bytes: [UInt8]) {
        module = IRModule(name: name)
        let count = Swift.max(bytes.count, 1)
        let type = LLVMArrayType(module.type(.i8), UInt32(clamping: count))
        let global = LLVMAddGlobal(module.module, type, name)
        let characters = (bytes.isEmpty ? [0] : bytes).map { CChar(bitPattern: $0) }
        let initializer = LLVMConstStringInContext(module.context, characters, UInt32(clamping: characters.count), 1)
        LLVMSetInitializer(global, initializer)
        LLVMSetGlobalConstant(global, 1)
        LLVMSetAlignment(global, 64)
    }
}
