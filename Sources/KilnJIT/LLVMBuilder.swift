import CLLVM

/// Builds one LLVM function through the C API's IR builder with every value typed: an
/// instruction given operands of the wrong type records an error at that point (reported when
/// the function is finished) rather than LLVM aborting on it. Blocks are named from a hint and
/// a counter (`loop3`); values are left unnamed, so LLVM numbers them when printing. Allocas
/// go to the entry block, which falls through to the body when the function is finished.
final class FunctionBuilder {
    let module: IRModule
    let function: LLVMValueRef
    private let builder: LLVMBuilderRef
    private let entry: LLVMBasicBlockRef
    private let body: LLVMBasicBlockRef
    private var labels = 0
    /// The block instructions are being appended to (phis name their predecessors).
    private(set) var currentBlock: LLVMBasicBlockRef
    private(set) var errors: [String] = []

    init(module: IRModule, function: LLVMValueRef) {
        self.module = module
        self.function = function
        builder = LLVMCreateBuilderInContext(module.context)
        entry = LLVMAppendBasicBlockInContext(module.context, function, "entry")
        body = LLVMAppendBasicBlockInContext(module.context, function, "body")
        currentBlock = body
        LLVMPositionBuilderAtEnd(builder, body)
    }

    deinit { LLVMDisposeBuilder(builder) }

    /// Closes the entry block (its allocas) with a branch to the body.
    func finish() {
        LLVMPositionBuilderAtEnd(builder, entry)
        LLVMBuildBr(builder, body)
    }

    /// Parameter `index`, named for readable dumps.
    func parameter(_ index: Int, _ type: IRType, name: String) -> IRValue {
        let p = LLVMGetParam(function, UInt32(index))!
        LLVMSetValueName2(p, name, name.utf8.count)
        return IRValue(p, type)
    }

    /// A new block, placed in the function when it is begun (blocks then follow the order
    /// code is emitted in, as a reader expects).
    func label(_ hint: String) -> LLVMBasicBlockRef {
        labels += 1
        return LLVMCreateBasicBlockInContext(module.context, "\(hint)\(labels)")
    }

    func begin(_ block: LLVMBasicBlockRef) {
        if LLVMGetBasicBlockParent(block) == nil { LLVMAppendExistingBasicBlock(function, block) }
        LLVMPositionBuilderAtEnd(builder, block)
        currentBlock = block
    }

    /// Records an instruction the builder cannot form (reported when the function is finished).
    func invalid(_ what: String) { errors.append(what) }

    /// Records `what` unless `ok`; callers then build nothing (LLVM's C API would assert or
    /// crash on a mistyped instruction) and hand back `placeholder`.
    @discardableResult
    private func check(_ ok: Bool, _ what: @autoclosure () -> String) -> Bool {
        if !ok { errors.append(what()) }
        return ok
    }

    /// An undefined value standing in for an instruction that was not built (the function is
    /// rejected when it is finished, so it never runs).
    private func placeholder(_ type: IRType) -> IRValue {
        IRValue(LLVMGetUndef(module.type(type == .void ? .i1 : type))!, type)
    }

    private func llvm(_ v: IRValue) -> LLVMValueRef { module.constant(v) }

    private static let floatOpcodes: Set<UInt32> = [LLVMFAdd.rawValue, LLVMFSub.rawValue, LLVMFMul.rawValue, LLVMFDiv.rawValue, LLVMFRem.rawValue]

    /// An arithmetic instruction on two operands of one type.
    func binary(_ opcode: LLVMOpcode, _ a: IRValue, _ b: IRValue) -> IRValue {
        guard check(a.type == b.type, "\(opcode): operand types differ (\(a.type), \(b.type))"),
              check(Self.floatOpcodes.contains(opcode.rawValue) == a.type.isFloat, "\(opcode) on \(a.type)") else { return placeholder(a.type) }
        return IRValue(LLVMBuildBinOp(builder, opcode, llvm(a), llvm(b), "")!, a.type)
    }

    /// A floating-point addition LLVM may reassociate (`reassoc`): reduction accumulators, so
    /// the vectoriser keeps several partial sums. LLVM ≥ 18 sets the flag through the C API;
    /// older C APIs cannot, so the addition is an inline helper parsed once per module.
    func reassociableAdd(_ a: IRValue, _ b: IRValue) -> IRValue {
        #if LLVM_18_OR_LATER
        let sum = binary(LLVMFAdd, a, b)
        if case .value(let instruction) = sum.content, LLVMIsAInstruction(instruction) != nil {
            LLVMSetFastMathFlags(instruction, LLVMFastMathFlags(LLVMFastMathAllowReassoc))
        }
        return sum
        #else
        guard check(a.type == b.type && a.type.isFloat, "reassociable fadd on \(a.type), \(b.type)") else { return placeholder(a.type) }
        return call(module.reassociatingAdd(a.type), a.type, [a, b])
        #endif
    }

    private static let realPredicates: [String: LLVMRealPredicate] = [
        "oeq": LLVMRealOEQ, "une": LLVMRealUNE, "olt": LLVMRealOLT, "ole": LLVMRealOLE, "ogt": LLVMRealOGT, "oge": LLVMRealOGE, "uno": LLVMRealUNO,
    ]
    private static let intPredicates: [String: LLVMIntPredicate] = [
        "eq": LLVMIntEQ, "ne": LLVMIntNE, "slt": LLVMIntSLT, "sle": LLVMIntSLE, "sgt": LLVMIntSGT, "sge": LLVMIntSGE,
    ]

    /// A comparison: an i1, or a `<N x i1>` mask of vector operands.
    func compare(_ predicate: String, _ a: IRValue, _ b: IRValue) -> IRValue {
        let result = a.type.lanes.map { IRType.mask($0) } ?? .i1
        guard check(a.type == b.type, "compare \(predicate): operand types differ (\(a.type), \(b.type))") else { return placeholder(result) }
        if a.type.isFloat, let p = Self.realPredicates[predicate] {
            return IRValue(LLVMBuildFCmp(builder, p, llvm(a), llvm(b), "")!, result)
        }
        if !a.type.isFloat, let p = Self.intPredicates[predicate] {
            return IRValue(LLVMBuildICmp(builder, p, llvm(a), llvm(b), "")!, result)
        }
        invalid("compare \(predicate) on \(a.type)")
        return placeholder(result)
    }

    func select(_ c: IRValue, _ a: IRValue, _ b: IRValue) -> IRValue {
        guard check(c.type == .i1 || c.type == .mask(a.type.lanes ?? 0), "select condition is \(c.type), not i1 or a mask of \(a.type)"),
              check(a.type == b.type, "select: arms differ (\(a.type), \(b.type))") else { return placeholder(a.type) }
        return IRValue(LLVMBuildSelect(builder, llvm(c), llvm(a), llvm(b), "")!, a.type)
    }

    func fneg(_ x: IRValue) -> IRValue {
        guard check(x.type.isFloat, "fneg on \(x.type)") else { return placeholder(x.type) }
        return IRValue(LLVMBuildFNeg(builder, llvm(x), "")!, x.type)
    }

    /// A conversion (`LLVMSIToFP`, `LLVMBitCast`, …). A bitcast between pointers is no
    /// instruction at all on opaque pointers (the builder folds it).
    func cast(_ opcode: LLVMOpcode, _ v: IRValue, to type: IRType) -> IRValue {
        IRValue(LLVMBuildCast(builder, opcode, llvm(v), module.type(type), "")!, type)
    }

    /// A call of `function` (declared in the module on first use).
    func call(_ function: String, _ result: IRType, _ arguments: [IRValue]) -> IRValue {
        let types = arguments.map(\.type)
        let f = module.function(function, result, types)
        guard check(f.signature.result == result && f.signature.parameters == types,
                    "call of \(function)(\(f.signature.parameters)) -> \(f.signature.result) as (\(types)) -> \(result)") else {
            return placeholder(result)
        }
        return call((f.value, f.type), result, arguments)
    }

    private func call(_ function: (value: LLVMValueRef, type: LLVMTypeRef), _ result: IRType, _ arguments: [IRValue]) -> IRValue {
        var args = arguments.map { Optional(llvm($0)) }
        let v = args.withUnsafeMutableBufferPointer {
            LLVMBuildCall2(builder, function.type, function.value, $0.baseAddress, UInt32($0.count), "")!
        }
        return IRValue(v, result)
    }

    func callVoid(_ function: String, _ arguments: [IRValue]) {
        _ = call(function, .void, arguments)
    }

    /// `&base[index]`.
    func elementPointer(_ base: IRValue, _ index: IRValue) -> IRValue {
        guard let element = base.type.pointee else {
            invalid("getelementptr on non-pointer \(base.type)")
            return placeholder(IRType.f32.pointer)
        }
        guard check(index.type == .i64, "getelementptr index is \(index.type)") else { return placeholder(base.type) }
        var indices = [Optional(llvm(index))]
        let p = indices.withUnsafeMutableBufferPointer {
            LLVMBuildInBoundsGEP2(builder, module.type(element), llvm(base), $0.baseAddress, 1, "")!
        }
        return IRValue(p, base.type)
    }

    /// A load, in the access group `group` when given (a parallel loop's accesses).
    func load(_ pointer: IRValue, group: LLVMMetadataRef? = nil) -> IRValue {
        guard let element = pointer.type.pointee else {
            invalid("load from non-pointer \(pointer.type)")
            return placeholder(.f32)
        }
        let v = LLVMBuildLoad2(builder, module.type(element), llvm(pointer), "")!
        LLVMSetAlignment(v, element == .i64 || element.pointee != nil ? 8 : 4)
        attach(group, to: v)
        return IRValue(v, element)
    }

    func store(_ value: IRValue, _ pointer: IRValue, group: LLVMMetadataRef? = nil) {
        guard check(pointer.type == value.type.pointer, "store of \(value.type) through \(pointer.type)") else { return }
        let s = LLVMBuildStore(builder, llvm(value), llvm(pointer))!
        LLVMSetAlignment(s, value.type == .i64 ? 8 : 4)
        attach(group, to: s)
    }

    /// The lanes `picks` of the concatenation of `a` and `b` (two `<n x float>`), as one vector.
    func shuffle(_ a: IRValue, _ b: IRValue, lanes picks: [Int]) -> IRValue {
        let result = IRType.vector(picks.count)
        guard check(a.type == b.type && a.type.lanes != nil, "shuffle of \(a.type) and \(b.type)") else { return placeholder(result) }
        var indices = picks.map { Optional(LLVMConstInt(module.type(.i32), UInt64($0), 0)!) }
        let mask = indices.withUnsafeMutableBufferPointer { LLVMConstVector($0.baseAddress, UInt32($0.count))! }
        return IRValue(LLVMBuildShuffleVector(builder, llvm(a), llvm(b), mask, "")!, result)
    }

    /// Lane `index` of the f32 vector `v`.
    func extractLane(_ v: IRValue, _ index: Int) -> IRValue {
        guard check(v.type.lanes != nil && v.type != .mask(v.type.lanes ?? 0), "lane of \(v.type)") else { return placeholder(.f32) }
        return IRValue(LLVMBuildExtractElement(builder, llvm(v), llvm(.i32(Int32(index))), "")!, v.type == .ints(v.type.lanes ?? 0) ? .i32 : .f32)
    }

    /// `<lanes x i1>` with its first `active` lanes set: the lanes a masked loop touches.
    func laneMask(active: Int, lanes: Int) -> IRValue {
        var bits = (0..<lanes).map { Optional(LLVMConstInt(module.type(.i1), $0 < active ? 1 : 0, 0)!) }
        let v = bits.withUnsafeMutableBufferPointer { LLVMConstVector($0.baseAddress, UInt32($0.count))! }
        return IRValue(v, .mask(lanes))
    }

    /// `llvm.masked.*`'s name for `<lanes x float>` through `pointer`: typed pointers are part
    /// of the mangled name on LLVM 14, opaque ones (≥ 15) are `p0`.
    private func maskedIntrinsic(_ operation: String, lanes: Int) -> String {
        "llvm.masked.\(operation).v\(lanes)f32." + (llvmMajorVersion >= 15 ? "p0" : "p0v\(lanes)f32")
    }

    /// A vector load of the first `active` of `lanes` floats at `pointer` (a `<lanes x float>*`):
    /// the other lanes touch no memory (they may lie past the buffer) and read as 0.
    func maskedLoad(_ pointer: IRValue, lanes: Int, active: Int) -> IRValue {
        let vector = IRType.vector(lanes)
        guard check(pointer.type == vector.pointer, "masked load through \(pointer.type)") else { return placeholder(vector) }
        let zero = IRValue(LLVMConstNull(module.type(vector))!, vector)
        return call(maskedIntrinsic("load", lanes: lanes), vector, [pointer, .i32(4), laneMask(active: active, lanes: lanes), zero])
    }

    /// Stores the first `active` lanes of `value` at `pointer`; memory past them is not touched.
    func maskedStore(_ value: IRValue, _ pointer: IRValue, active: Int) {
        guard let lanes = value.type.lanes, check(pointer.type == value.type.pointer, "masked store of \(value.type) through \(pointer.type)") else {
            return invalid("masked store of \(value.type)")
        }
        callVoid(maskedIntrinsic("store", lanes: lanes), [value, pointer, .i32(4), laneMask(active: active, lanes: lanes)])
    }

    private func attach(_ group: LLVMMetadataRef?, to instruction: LLVMValueRef) {
        guard let group else { return }
        LLVMSetMetadata(instruction, module.kind("llvm.access.group"), LLVMMetadataAsValue(module.context, group))
    }

    /// A hint to bring the line at `pointer` into every cache level for reading
    /// (`llvm.prefetch`: read, high locality, data); it never faults.
    func prefetch(_ pointer: IRValue) {
        let bytes = cast(LLVMBitCast, pointer, to: IRType.i8.pointer)
        callVoid("llvm.prefetch." + (llvmMajorVersion >= 15 ? "p0" : "p0i8"), [bytes, .i32(0), .i32(3), .i32(1)])
    }

    /// A stack slot in the entry block (promoted to registers by LLVM).
    func alloca(_ type: IRType) -> IRValue {
        let b = LLVMCreateBuilderInContext(module.context)!
        defer { LLVMDisposeBuilder(b) }
        LLVMPositionBuilderAtEnd(b, entry)
        let slot = LLVMBuildAlloca(b, module.type(type), "")!
        LLVMSetAlignment(slot, 8)
        return IRValue(slot, type.pointer)
    }

    /// The f32 (or i32) scalar `x` in every lane of a `<lanes x float>` (`<lanes x i32>`),
    /// constant-folded for constants.
    func splat(_ x: IRValue, lanes: Int) -> IRValue {
        let vector: IRType = x.type == .i32 ? .ints(lanes) : .vector(lanes)
        guard check(x.type == .f32 || x.type == .i32, "splat of \(x.type)") else { return placeholder(vector) }
        let undef = LLVMGetUndef(module.type(vector))!
        let one = LLVMBuildInsertElement(builder, undef, llvm(x), llvm(.i32(0)), "")!
        let zeros = LLVMConstNull(LLVMVectorType(module.type(.i32), UInt32(lanes)))!
        return IRValue(LLVMBuildShuffleVector(builder, one, undef, zeros, "")!, vector)
    }

    func branch(_ block: LLVMBasicBlockRef) { LLVMBuildBr(builder, block) }

    /// A conditional branch; `loop` is the loop ID of a latch's back edge.
    func branch(_ condition: IRValue, _ then: LLVMBasicBlockRef, _ otherwise: LLVMBasicBlockRef, loop: LLVMMetadataRef? = nil) {
        // A mistyped condition still ends the block (with a plain branch), so the function's shape holds.
        guard check(condition.type == .i1, "branch condition is \(condition.type)") else { return branch(otherwise) }
        let br = LLVMBuildCondBr(builder, llvm(condition), then, otherwise)!
        if let loop { LLVMSetMetadata(br, module.kind("llvm.loop"), LLVMMetadataAsValue(module.context, loop)) }
    }

    func returnVoid() { LLVMBuildRetVoid(builder) }

    func ret(_ v: IRValue) { LLVMBuildRet(builder, llvm(v)) }

    /// A phi; its incoming values are added with `incoming` (a loop's next value is made after it).
    func phi(_ type: IRType) -> IRValue { IRValue(LLVMBuildPhi(builder, module.type(type), "")!, type) }

    func incoming(_ phi: IRValue, _ value: IRValue, from block: LLVMBasicBlockRef) {
        guard case .value(let p) = phi.content else { return invalid("incoming value for a constant") }
        var values = [Optional(llvm(value))]
        var blocks = [Optional(block)]
        LLVMAddIncoming(p, &values, &blocks, 1)
    }

    /// `i + 1` that cannot wrap (an induction variable's step): `nsw`, and `nuw` where the C API can say so.
    func increment(_ i: IRValue) -> IRValue {
        let next = LLVMBuildNSWAdd(builder, llvm(i), llvm(IRValue(integer: 1, i.type)), "")!
        #if LLVM_18_OR_LATER
        LLVMSetNUW(next, 1)
        #endif
        return IRValue(next, i.type)
    }
}

extension IRModule {
    /// The inline helper `reassociableAdd` calls on LLVM < 18, whose C API cannot set `reassoc`.
    func reassociatingAdd(_ type: IRType) -> String {
        let name = "kiln_fadd_reassoc_" + type.intrinsicSuffix
        if LLVMGetNamedFunction(module, name) == nil, let helper = parseHelper("""
            define \(type) @\(name)(\(type) %a, \(type) %b) alwaysinline {
              %r = fadd reassoc \(type) %a, %b
              ret \(type) %r
            }
            """) {
            link(helper, defining: [name], type, [type, type])
        }
        return name
    }
}
