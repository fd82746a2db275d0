import CLLVM
import Foundation
import KilnIR
import Synchronization

/// A large module compiled in parts at once, one per core: LLVM's optimiser and code generator
/// run single-threaded on one module, and a step's kernels are independent functions (the
/// step program calls them from Swift; none calls another). The module is written as bitcode
/// and read back into one LLVM context per part; each part keeps the kernels `balancedParts` gives it (and
/// the internal math functions, which each object carries for itself), and its own target
/// machine optimises and emits it. The objects are cached under the whole module's key, a
/// suffix per part. An unrolled LSTM's Adam step (49 kernel functions) compiles this way.
extension MachineTarget {
    /// Modules with fewer kernel functions are compiled whole: parting has a fixed cost
    /// (writing and reading bitcode, a target machine per part).
    static let partedMinimumFunctions = 16

    /// The objects of `module` compiled in `parts` parts on as many threads, from `cache` when
    /// every part is there; nil when the module is not parted (too few kernels, a kernel that
    /// is called from within the module, or an external global every part would define).
    func emitParts(_ module: IRModule, name: String, cache: ObjectCache?, parts: Int) throws -> (objects: [Data], text: String, keys: [String], fromCache: Bool)? {
        guard parts > 1, let kernels = Self.kernelFunctions(module.module), kernels.count >= Self.partedMinimumFunctions else { return nil }
        let text = module.text
        let key = objectKey(text)
        let partKeys = (0..<parts).map { "\(key)-part\($0)of\(parts)" }
        if let cache {
            let cached = partKeys.compactMap { cache.load($0) }
            if cached.count == parts { return (cached, text, partKeys, true) }
        }
        try verify(module.module, text: text, name: name)
        guard let bitcode = LLVMWriteBitcodeToMemoryBuffer(module.module), let start = LLVMGetBufferStart(bitcode) else {
            throw Diagnostic("LLVM could not write \(name) as bitcode to compile it in parts")
        }
        defer { LLVMDisposeMemoryBuffer(bitcode) }
        let size = LLVMGetBufferSize(bitcode)
        let assignment = Self.balancedParts(kernels, parts: parts)
        let results = Mutex<[Int: Result<Data, any Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let result = Result { try self.emitPart(bitcode: start, size: size, part: part, assignment: assignment, name: name) }
            results.withLock { $0[part] = result }
        }
        let objects = try (0..<parts).map { part -> Data in
            guard let result = results.withLock({ $0[part] }) else { throw Diagnostic("internal: part \(part) of \(name) was not compiled") }
            return try result.get()
        }
        for (object, partKey) in zip(objects, partKeys) { cache?.store(partKey, object) }
        return (objects, text, partKeys, false)
    }

    /// The module's external function definitions (its kernels), in module order, when they can be
    /// compiled apart: no uses inside the module, no external global variables.
    static func kernelFunctions(_ m: LLVMModuleRef) -> [LLVMValueRef]? {
        var global = LLVMGetFirstGlobal(m)
        while let g = global {
            if LLVMIsDeclaration(g) == 0 && LLVMGetLinkage(g) == LLVMExternalLinkage { return nil }
            global = LLVMGetNextGlobal(g)
        }
        var kernels: [LLVMValueRef] = []
        var function = LLVMGetFirstFunction(m)
        while let f = function {
            if LLVMIsDeclaration(f) == 0 && LLVMGetLinkage(f) == LLVMExternalLinkage {
                if LLVMGetFirstUse(f) != nil { return nil }
                kernels.append(f)
            }
            function = LLVMGetNextFunction(f)
        }
        return kernels
    }

    /// The part of each kernel: largest first (in instructions) onto the part with the fewest so
    /// far, so the threads finish together (every `parts`-th kernel left one part with 1.3× the
    /// other's work on an LSTM step).
    static func balancedParts(_ kernels: [LLVMValueRef], parts: Int) -> [Int] {
        let sizes = kernels.map { kernel -> Int in
            var count = 0
            var block = LLVMGetFirstBasicBlock(kernel)
            while let b = block {
                var instruction = LLVMGetFirstInstruction(b)
                while let i = instruction {
                    count += 1
                    instruction = LLVMGetNextInstruction(i)
                }
                block = LLVMGetNextBasicBlock(b)
            }
            return count
        }
        var load = [Int](repeating: 0, count: Swift.max(parts, 1))
        var assignment = [Int](repeating: 0, count: kernels.count)
        for index in sizes.indices.sorted(by: { (sizes[$0], $1) > (sizes[$1], $0) }) {
            let part = load.indices.min { (load[$0], $0) < (load[$1], $1) } ?? 0
            assignment[index] = part
            load[part] += sizes[index]
        }
        return assignment
    }

    private func emitPart(bitcode: UnsafePointer<CChar>, size: Int, part: Int, assignment: [Int], name: String) throws -> Data {
        guard let context = LLVMContextCreate() else { throw Diagnostic("LLVM could not create a context for part \(part) of \(name)") }
        defer { LLVMContextDispose(context) }
        let buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(bitcode, size, "\(name).part\(part)")
        defer { LLVMDisposeMemoryBuffer(buffer) }
        var parsed: LLVMModuleRef?
        guard LLVMParseBitcodeInContext2(context, buffer, &parsed) == 0, let module = parsed else {
            throw Diagnostic("LLVM could not read back part \(part) of \(name)")
        }
        defer { LLVMDisposeModule(module) }
        let kernels = Self.kernelFunctions(module) ?? []
        guard kernels.count == assignment.count else { throw Diagnostic("internal: part \(part) of \(name) read back \(kernels.count) kernels, not \(assignment.count)") }
        for (index, kernel) in kernels.enumerated() where assignment[index] != part { LLVMDeleteFunction(kernel) }
        let machine = try MachineTarget(triple: triple, cpu: cpu, features: features, checkCPU: false)
        return try machine.optimizeAndEmit(module, name: "\(name).part\(part)")
    }
}
