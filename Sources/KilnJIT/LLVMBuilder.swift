/// LLVM IR types the generated code uses.
struct IRType: Hashable, CustomStringConvertible {
    let text: String
    var description: String { text }

    static let f32 = IRType(text: "float"), i32 = IRType(text: "i32"), i64 = IRType(text: "i64"), i1 = IRType(text: "i1")
    static let i8Pointer = IRType(text: "i8*"), void = IRType(text: "void")
    /// `<lanes x float>`.
    static func vector(_ lanes: Int) -> IRType { IRType(text: "<\(lanes) x float>") }
    var pointer: IRType { IRType(text: text + "*") }
    var pointee: IRType? { text.hasSuffix("*") ? IRType(text: String(text.dropLast())) : nil }
    /// f32 or a vector of f32: the operands of `fadd`, `fmul`, `fcmp`.
    var isFloat: Bool { self == .f32 || (text.hasPrefix("<") && text.hasSuffix(" x float>")) }
    /// The lane count of `<N x float>`; nil for scalars.
    var lanes: Int? {
        guard text.hasPrefix("<"), let x = text.firstIndex(of: " ") else { return nil }
        return Int(text[text.index(after: text.startIndex)..<x])
    }
    var isInteger: Bool { self == .i32 || self == .i64 || self == .i1 }
}

/// A typed SSA value or constant.
struct IRValue: Hashable {
    let text: String
    let type: IRType

    static func i64(_ v: Int) -> IRValue { IRValue(text: "\(v)", type: .i64) }
    static func i32(_ v: Int32) -> IRValue { IRValue(text: "\(v)", type: .i32) }
    static func bool(_ v: Bool) -> IRValue { IRValue(text: v ? "true" : "false", type: .i1) }
    /// A float constant as LLVM spells it: the double of the same value, in hex.
    static func f32(_ v: Float) -> IRValue { IRValue(text: "0x" + String(Double(v).bitPattern, radix: 16, uppercase: true), type: .f32) }
    var typed: String { "\(type) \(text)" }
}

/// Builds one LLVM function as text with every value typed: an instruction given operands of
/// the wrong type records an error at that point (reported when the function is finished),
/// rather than LLVM rejecting the module later. Values and labels are numbered automatically.
struct FunctionBuilder {
    private(set) var lines: [String] = []
    private var counter = 0
    private var labels = 0
    /// The block instructions are being appended to (phis name their predecessors).
    private(set) var currentBlock = "entry"
    private(set) var errors: [String] = []

    init() {}

    mutating func label(_ hint: String) -> String {
        labels += 1
        return "\(hint)\(labels)"
    }

    mutating func begin(_ label: String) {
        lines.append("\(label):")
        currentBlock = label
    }

    mutating func raw(_ line: String) { lines.append("  " + line) }

    /// Records an instruction the builder cannot form (reported when the function is finished).
    mutating func invalid(_ what: String) { errors.append(what) }

    private mutating func check(_ ok: Bool, _ what: @autoclosure () -> String) {
        if !ok { errors.append(what()) }
    }

    mutating func emit(_ instruction: String, _ type: IRType) -> IRValue {
        counter += 1
        let value = IRValue(text: "%v\(counter)", type: type)
        lines.append("  \(value.text) = \(instruction)")
        return value
    }

    /// An arithmetic instruction on two operands of one type (`flags` such as `reassoc`).
    mutating func binary(_ opcode: String, _ a: IRValue, _ b: IRValue, flags: String = "") -> IRValue {
        check(a.type == b.type, "\(opcode): operand types differ (\(a.typed), \(b.typed))")
        let isFloatOp = opcode.hasPrefix("f")
        check(isFloatOp == a.type.isFloat, "\(opcode) on \(a.type)")
        return emit("\(opcode)\(flags.isEmpty ? "" : " " + flags) \(a.type) \(a.text), \(b.text)", a.type)
    }

    /// A comparison: an i1, or a `<N x i1>` mask of vector operands.
    mutating func compare(_ predicate: String, _ a: IRValue, _ b: IRValue) -> IRValue {
        check(a.type == b.type, "compare \(predicate): operand types differ (\(a.typed), \(b.typed))")
        let result = a.type.lanes.map { IRType(text: "<\($0) x i1>") } ?? .i1
        return emit("\(a.type.isFloat ? "fcmp" : "icmp") \(predicate) \(a.type) \(a.text), \(b.text)", result)
    }

    mutating func select(_ c: IRValue, _ a: IRValue, _ b: IRValue) -> IRValue {
        check(c.type == .i1 || c.type.text == "<\(a.type.lanes ?? 0) x i1>", "select condition is \(c.type), not i1 or a mask of \(a.type)")
        check(a.type == b.type, "select: arms differ (\(a.typed), \(b.typed))")
        return emit("select \(c.typed), \(a.typed), \(b.typed)", a.type)
    }

    mutating func cast(_ opcode: String, _ v: IRValue, to type: IRType) -> IRValue {
        emit("\(opcode) \(v.typed) to \(type)", type)
    }

    mutating func call(_ function: String, _ result: IRType, _ arguments: [IRValue]) -> IRValue {
        emit("call \(result) @\(function)(\(arguments.map(\.typed).joined(separator: ", ")))", result)
    }

    mutating func callVoid(_ function: String, _ arguments: [IRValue]) {
        raw("call void @\(function)(\(arguments.map(\.typed).joined(separator: ", ")))")
    }

    /// `&base[index]`.
    mutating func elementPointer(_ base: IRValue, _ index: IRValue) -> IRValue {
        guard let element = base.type.pointee else {
            check(false, "getelementptr on non-pointer \(base.typed)")
            return base
        }
        check(index.type == .i64, "getelementptr index is \(index.type)")
        return emit("getelementptr inbounds \(element), \(base.typed), \(index.typed)", base.type)
    }

    mutating func load(_ pointer: IRValue, metadata: String = "") -> IRValue {
        guard let element = pointer.type.pointee else {
            check(false, "load from non-pointer \(pointer.typed)")
            return pointer
        }
        return emit("load \(element), \(pointer.typed), align \(element == .i64 || element.text.hasSuffix("*") ? 8 : 4)\(metadata)", element)
    }

    mutating func store(_ value: IRValue, _ pointer: IRValue, metadata: String = "") {
        check(pointer.type == value.type.pointer, "store of \(value.typed) through \(pointer.typed)")
        raw("store \(value.typed), \(pointer.typed), align \(value.type == .i64 ? 8 : 4)\(metadata)")
    }

    /// The f32 scalar `x` in every lane of a `<lanes x float>`.
    mutating func splat(_ x: IRValue, lanes: Int) -> IRValue {
        check(x.type == .f32, "splat of \(x.typed)")
        let vector = IRType.vector(lanes)
        let one = emit("insertelement \(vector) undef, \(x.typed), i32 0", vector)
        return emit("shufflevector \(vector) \(one.text), \(vector) undef, <\(lanes) x i32> zeroinitializer", vector)
    }

    mutating func branch(_ label: String) { raw("br label %\(label)") }

    mutating func branch(_ condition: IRValue, _ then: String, _ otherwise: String, metadata: String = "") {
        check(condition.type == .i1, "branch condition is \(condition.type)")
        raw("br i1 \(condition.text), label %\(then), label %\(otherwise)\(metadata)")
    }

    /// A phi whose incoming list is completed later (`%name`, filled by `lines` patching).
    mutating func phi(_ type: IRType, _ incoming: [(IRValue, String)]) -> IRValue {
        emit("phi \(type) " + incoming.map { "[ \($0.0.text), %\($0.1) ]" }.joined(separator: ", "), type)
    }

    /// Reserves a value name without emitting (a loop's next induction value, used by the phi
    /// before it is defined).
    mutating func reserve(_ type: IRType) -> IRValue {
        counter += 1
        return IRValue(text: "%v\(counter)", type: type)
    }

    mutating func define(_ value: IRValue, _ instruction: String) {
        lines.append("  \(value.text) = \(instruction)")
    }
}

/// Numbers module-level metadata nodes in order of creation.
struct MetadataTable {
    private(set) var lines: [String] = []
    private var next = 0

    mutating func add(_ body: (Int) -> String) -> Int {
        let id = next
        next += 1
        lines.append("!\(id) = \(body(id))")
        return id
    }
}
