import CLLVM
import Foundation
import KilnIR

/// The major version of the LLVM Kiln was built against (llvm-config.h; `LLVM_VERSION` at build time).
let llvmMajorVersion = Int(LLVM_VERSION_MAJOR)

/// LLVM IR types the generated code uses, tracked on the Swift side: instructions are checked
/// against them (`FunctionBuilder`), and loads and address arithmetic name the element type
/// explicitly, as opaque pointers (LLVM ≥ 15) require. On LLVM 14 the same calls build typed
/// pointers (`LLVMPointerType` of the tracked element type).
indirect enum IRType: Hashable, CustomStringConvertible {
    case f32, i1, i8, i32, i64, void
    /// `<lanes x float>`.
    case vector(Int)
    /// `<lanes x i1>`: a lane mask (vector comparisons).
    case mask(Int)
    /// `<lanes x i32>`: the integer lanes of the math library's vector routines (exponents).
    case ints(Int)
    case pointer(IRType)

    var description: String {
        switch self {
        case .f32: return "float"
        case .i1: return "i1"
        case .i8: return "i8"
        case .i32: return "i32"
        case .i64: return "i64"
        case .void: return "void"
        case .vector(let n): return "<\(n) x float>"
        case .mask(let n): return "<\(n) x i1>"
        case .ints(let n): return "<\(n) x i32>"
        case .pointer(let t): return "\(t)*"
        }
    }

    var pointer: IRType { .pointer(self) }
    var pointee: IRType? { if case .pointer(let t) = self { return t } else { return nil } }
    /// f32 or a vector of f32: the operands of `fadd`, `fmul`, `fcmp`.
    var isFloat: Bool {
        switch self {
        case .f32, .vector: return true
        default: return false
        }
    }
    /// The lane count of a vector or mask; nil for scalars.
    var lanes: Int? {
        switch self {
        case .vector(let n), .mask(let n), .ints(let n): return n
        default: return nil
        }
    }
    var isInteger: Bool { self == .i1 || self == .i8 || self == .i32 || self == .i64 }
    /// The suffix LLVM's overloaded intrinsics take for this type (`f32`, `v8f32`).
    var intrinsicSuffix: String { lanes.map { "v\($0)f32" } ?? "f32" }
}

/// A typed value: an instruction's result, or a constant made in the module when it is used.
struct IRValue {
    enum Content {
        case value(LLVMValueRef)
        case integer(Int64)
        case float(Float)
    }
    let content: Content
    let type: IRType

    init(_ value: LLVMValueRef, _ type: IRType) {
        content = .value(value)
        self.type = type
    }

    init(integer: Int64, _ type: IRType) {
        content = .integer(integer)
        self.type = type
    }

    static func i64(_ v: Int) -> IRValue { IRValue(integer: Int64(v), .i64) }
    static func i32(_ v: Int32) -> IRValue { IRValue(integer: Int64(v), .i32) }
    static func bool(_ v: Bool) -> IRValue { IRValue(integer: v ? 1 : 0, .i1) }
    static func f32(_ v: Float) -> IRValue { IRValue(content: .float(v), type: .f32) }

    private init(content: Content, type: IRType) {
        self.content = content
        self.type = type
    }
}

/// One LLVM module in its own context, built through the C API (no IR text): functions are
/// declared on first use (LLVM intrinsics by name, the math library's inline functions from
/// `MathLibrary`), and `text` prints the module deterministically (numbered values, no
/// addresses) for `kiln dump --llvm` and the object cache's key.
final class IRModule {
    let context: LLVMContextRef
    let module: LLVMModuleRef
    private var types: [IRType: LLVMTypeRef] = [:]
    private var functions: [String: (value: LLVMValueRef, type: LLVMTypeRef, signature: Signature)] = [:]

    /// A function's Kiln-side types (calls are checked against them).
    struct Signature: Equatable {
        var result: IRType
        var parameters: [IRType]
    }
    private var kinds: [String: UInt32] = [:]
    private var accessGroups: [LLVMMetadataRef] = []

    init(name: String) {
        context = LLVMContextCreate()
        module = LLVMModuleCreateWithNameInContext(name, context)
    }

    /// A module parsed from LLVM IR text (tests and hand-written modules; Kiln's own code
    /// generation never goes through text).
    init(parsing text: String, name: String) throws {
        context = LLVMContextCreate()
        var parsed: LLVMModuleRef?
        var message: UnsafeMutablePointer<CChar>?
        let buffer = text.withCString { LLVMCreateMemoryBufferWithMemoryRangeCopy($0, strlen($0), name) }
        guard LLVMParseIRInContext(context, buffer, &parsed, &message) == 0, let parsed else {
            let reason = message.map { String(cString: $0) } ?? "unknown"
            LLVMDisposeMessage(message)
            LLVMContextDispose(context)
            throw Diagnostic("LLVM rejected the IR: \(reason)")
        }
        module = parsed
    }

    deinit {
        LLVMDisposeModule(module)
        LLVMContextDispose(context)
    }

    /// The module as LLVM prints it.
    var text: String {
        guard let printed = LLVMPrintModuleToString(module) else { return "" }
        defer { LLVMDisposeMessage(printed) }
        return String(cString: printed)
    }

    func type(_ t: IRType) -> LLVMTypeRef {
        if let known = types[t] { return known }
        let made: LLVMTypeRef
        switch t {
        case .f32: made = LLVMFloatTypeInContext(context)
        case .i1: made = LLVMInt1TypeInContext(context)
        case .i8: made = LLVMInt8TypeInContext(context)
        case .i32: made = LLVMInt32TypeInContext(context)
        case .i64: made = LLVMInt64TypeInContext(context)
        case .void: made = LLVMVoidTypeInContext(context)
        case .vector(let n): made = LLVMVectorType(type(.f32), UInt32(n))
        case .mask(let n): made = LLVMVectorType(type(.i1), UInt32(n))
        case .ints(let n): made = LLVMVectorType(type(.i32), UInt32(n))
        // Opaque `ptr` on LLVM ≥ 15 whatever the element type; a typed pointer on 14.
        case .pointer(let element): made = LLVMPointerType(type(element), 0)
        }
        types[t] = made
        return made
    }

    func constant(_ v: IRValue) -> LLVMValueRef {
        switch v.content {
        case .value(let ref): return ref
        // Sign-extended when negative; i1 `true` is 1 unsigned (as signed, 1 does not fit in one bit).
        case .integer(let i): return LLVMConstInt(type(v.type), UInt64(bitPattern: i), i < 0 ? 1 : 0)
        // Exact: every Float is a Double, and LLVM rounds it back to the same float.
        case .float(let f): return LLVMConstReal(type(.f32), Double(f))
        }
    }

    func functionType(_ result: IRType, _ parameters: [IRType]) -> LLVMTypeRef {
        var params = parameters.map { Optional(type($0)) }
        return params.withUnsafeMutableBufferPointer { LLVMFunctionType(type(result), $0.baseAddress, UInt32($0.count), 0) }
    }

    /// The function `name`: declared on first use with this signature, or — for the math
    /// library's functions — defined inline in this module.
    func function(_ name: String, _ result: IRType, _ parameters: [IRType]) -> (value: LLVMValueRef, type: LLVMTypeRef, signature: Signature) {
        if let known = functions[name] { return known }
        let t = functionType(result, parameters)
        let f = LLVMAddFunction(module, name, t)!
        let entry = (f, t, Signature(result: result, parameters: parameters))
        functions[name] = entry
        MathLibrary.define(name, f, in: self)
        return entry
    }

    /// Adds a function defined here (a kernel, a math-library routine).
    func define(_ name: String, _ result: IRType, _ parameters: [IRType]) -> LLVMValueRef {
        function(name, result, parameters).value
    }

    func addAttribute(_ name: String, to function: LLVMValueRef, at index: UInt32 = UInt32(bitPattern: -1)) {
        let kind = LLVMGetEnumAttributeKindForName(name, name.utf8.count)
        LLVMAddAttributeAtIndex(function, index, LLVMCreateEnumAttribute(context, kind, 0))
    }

    // MARK: metadata

    func kind(_ name: String) -> UInt32 {
        if let k = kinds[name] { return k }
        let k = LLVMGetMDKindIDInContext(context, name, UInt32(name.utf8.count))
        kinds[name] = k
        return k
    }

    func string(_ s: String) -> LLVMMetadataRef { LLVMMDStringInContext2(context, s, s.utf8.count) }

    func node(_ operands: [LLVMMetadataRef]) -> LLVMMetadataRef {
        var ops = operands.map { Optional($0) }
        return ops.withUnsafeMutableBufferPointer { LLVMMDNodeInContext2(context, $0.baseAddress, $0.count) }
    }

    func metadata(_ v: IRValue) -> LLVMMetadataRef { LLVMValueAsMetadata(constant(v)) }

    /// A loop ID: a node whose first operand is itself (LLVM makes such a node distinct).
    func loopID(_ properties: [LLVMMetadataRef]) -> LLVMMetadataRef {
        let placeholder = LLVMTemporaryMDNode(context, nil, 0)!
        let id = node([placeholder] + properties)
        LLVMMetadataReplaceAllUsesWith(placeholder, id)
        return id
    }

    /// A fresh access group: an empty *distinct* node (the verifier requires it). The C API
    /// (up to LLVM 19 at least) makes only uniqued nodes, so a batch of `distinct !{}` is parsed
    /// into this context — metadata belongs to the context, not to the parsed module.
    func accessGroup() -> LLVMMetadataRef {
        if accessGroups.isEmpty {
            let n = 16
            let text = "!kiln.groups = !{" + (0..<n).map { "!\($0)" }.joined(separator: ", ") + "}\n"
                + (0..<n).map { "!\($0) = distinct !{}\n" }.joined()
            accessGroups = parseHelper(text).map { helper in
                var values = [LLVMValueRef?](repeating: nil, count: n)
                LLVMGetNamedMetadataOperands(helper, "kiln.groups", &values)
                LLVMDisposeModule(helper)
                return values.compactMap { $0.map { LLVMValueAsMetadata($0) } }
            } ?? []
        }
        return accessGroups.removeLast()
    }

    /// Parses a small helper module into this context (nil if LLVM rejects it: a bug, reported by the verifier later).
    func parseHelper(_ text: String) -> LLVMModuleRef? {
        var parsed: LLVMModuleRef?
        var message: UnsafeMutablePointer<CChar>?
        let buffer = text.withCString { LLVMCreateMemoryBufferWithMemoryRangeCopy($0, strlen($0), "kiln_helper") }
        if LLVMParseIRInContext(context, buffer, &parsed, &message) != 0 {
            LLVMDisposeMessage(message)
            return nil
        }
        return parsed
    }

    /// Links `helper` (parsed by `parseHelper`) into this module; its definitions become internal.
    func link(_ helper: LLVMModuleRef, defining names: [String], _ result: IRType, _ parameters: [IRType]) {
        guard LLVMLinkModules2(module, helper) == 0 else { return }
        for name in names {
            guard let f = LLVMGetNamedFunction(module, name) else { continue }
            LLVMSetLinkage(f, LLVMInternalLinkage)
            functions[name] = (f, functionType(result, parameters), Signature(result: result, parameters: parameters))
        }
    }
}
