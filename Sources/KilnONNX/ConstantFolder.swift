import Foundation

/// Evaluates, at import time, nodes whose inputs are all known: the shape computations that
/// exporters emit (`Shape` → `Gather` → `Unsqueeze` → `Concat` → `Reshape`), `Constant`, and
/// arithmetic on constants. Static shapes make every `Shape` known. Float initializers are
/// never folded into new constants: they stay trainable params.
enum ConstantFolder {
    /// Elements all folded results of one import may hold together (2^24, 128 MiB of doubles).
    /// Shape computations need a few hundred; without a total bound, 40 `Range` nodes each under
    /// a per-node cap, or `Expand` to [2^20, 2^20], exhausted memory before any check.
    static let budget = 1 << 24

    /// ConstantOfShape results larger than this become a `constant` node instead of a folded
    /// tensor (values needed at import time are shape-sized, far smaller).
    static let largeFill = 1 << 16

    /// Throws unless a result of `count` elements (nil: too large to count) fits what is left
    /// of the budget; called before a result larger than its inputs is computed.
    static func ensure(_ ctx: ImportContext, _ count: Int?, _ what: String) throws {
        guard let count, count <= budget - ctx.foldedElements else {
            throw ConversionError("folding \(what) at import time would exceed the budget of \(budget) elements for all folded constants (\(ctx.foldedElements) used)")
        }
    }

    /// `dims` as a shape of a folded result: every entry ≥ 0 (a shape input of −3 is invalid).
    static func checkedShape(_ dims: [Int], _ what: String) throws -> [Int] {
        guard dims.allSatisfy({ $0 >= 0 }) else { throw ConversionError("\(what): shape \(dims) has a negative dimension") }
        return dims
    }

    /// Folds the current node when possible; returns whether it did.
    static func fold(_ ctx: ImportContext, _ opType: String) throws -> Bool {
        let a = ctx.attributes
        switch opType {
        case "Constant":
            ctx.define(0, constant: try constantAttribute(a))
            return true
        case "Shape":
            let dims = try ctx.shape(0)
            var start = try a.int("start", 0), end = try a.int("end", dims.count)
            if start < 0 { start += dims.count }
            if end < 0 { end += dims.count }
            start = min(max(start, 0), dims.count); end = min(max(end, start), dims.count)
            ctx.define(0, constant: ConstantTensor(integers: Array(dims[start..<end])))
            return true
        case "Size":
            ctx.define(0, constant: ConstantTensor(shape: [], values: [Double(try ctx.type(0).elementCount)], isInteger: true))
            return true
        default: break
        }
        // Everything else folds only when every given input is known and none is a trainable weight.
        var inputs: [ConstantTensor?] = []
        for i in 0..<ctx.inputCount {
            guard ctx.hasInput(i) else { inputs.append(nil); continue }
            let v = try ctx.value(i)
            if opType == "Range", v.isInitializer, v.constant?.dtype == .f32 {
                // Kiln imports Range only by folding it; "unsupported op" would contradict --list-ops.
                throw ConversionError("Range is imported only when folded at import time, and input '\(ctx.node.input[i])' is a float initializer (a trainable param); make it a Constant")
            }
            if opType == "Range", v.constant == nil {
                // Its output's length is computed from its inputs: they decide a shape.
                throw ConversionError("\(["start", "limit", "delta"][min(i, 2)]) (input '\(ctx.node.input[i])') must be known at import time (Kiln's shapes are static; Range's length depends on it)")
            }
            if opType == "ConstantOfShape", v.constant == nil {
                throw ConversionError("shape (input '\(ctx.node.input[i])') must be known at import time (Kiln's shapes are static)")
            }
            guard let c = v.constant, !(v.isInitializer && c.dtype == .f32) else { return false }
            inputs.append(c)
        }
        guard let x = inputs.first ?? nil else { return false }
        let result: ConstantTensor
        switch opType {
        case "Identity", "Dropout": result = x
        case "Cast":
            let to = Int32(try a.int("to", 1))
            guard let dtype = ONNXDataType.kilnType(to) ?? (to == ONNXDataType.double ? .f32 : nil) else { return false }
            let isInteger = dtype == .i32
            result = ConstantTensor(shape: x.shape, values: x.values.map { isInteger ? ($0.isFinite ? $0.rounded(.towardZero) : 0) : Double(Float($0)) }, isInteger: isInteger)
        case "ConstantOfShape":
            let dims = try x.integers("shape")
            guard dims.allSatisfy({ $0 > 0 }) else { throw ConversionError("ConstantOfShape: shape \(dims) has an empty dimension, which Kiln cannot represent") }
            let fill = try a.tensor("value").map { try ConstantTensor(proto: $0, what: "attribute 'value'") } ?? ConstantTensor(shape: [1], values: [0], isInteger: false)
            // A large fill (the stand-in weights of ONNX's "light" models, 4096×9216) is a Kiln
            // `constant` node, one value and a shape, rather than a folded tensor of its elements.
            if let count = checkedElementCount(dims), count > largeFill {
                try ctx.define(0, try ctx.constantNode(try fill.scalar("value"), shape: dims, dtype: fill.dtype))
                return true
            }
            try ensure(ctx, checkedElementCount(dims), "ConstantOfShape to \(dims)")
            result = ConstantTensor(shape: dims, values: Array(repeating: try fill.scalar("value"), count: dims.reduce(1, *)), isInteger: fill.isInteger)
        case "Unsqueeze", "Squeeze", "Reshape", "Flatten":
            result = ConstantTensor(shape: try LayoutRules.outputShape(ctx, opType, inputShape: x.shape), values: x.values, isInteger: x.isInteger)
        case "Concat":
            let parts = inputs.compactMap { $0 }
            let axis = try ctx.axis(try a.int("axis", 0), rank: x.shape.count)
            // One input may be listed many times: the result can outgrow every input.
            try ensure(ctx, parts.reduce(0) { $0 + $1.count }, "Concat of \(parts.count) inputs")
            result = try ConstantMath.concat(parts, axis: axis)
        case "Gather":
            guard let indices = inputs.count > 1 ? inputs[1] : nil else { return false }
            let axis = try ctx.axis(try a.int("axis", 0), rank: x.shape.count)
            try ensure(ctx, checkedElementCount(Array(x.shape[..<axis]) + indices.shape + Array(x.shape[(axis + 1)...])), "Gather")
            result = try ConstantMath.gather(x, indices: indices.integers("indices"), indexShape: indices.shape, axis: axis)
        case "Slice":
            let plan = try SliceRules.plan(ctx, shape: x.shape, allowEmpty: true)
            result = ConstantMath.take(x, plan)
        case "Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Max", "Min", "Mod":
            guard inputs.count >= 2, let y = inputs[1] else { return false }
            let shape = try broadcastShape(x.shape, y.shape)
            try ensure(ctx, checkedElementCount(shape), "\(opType) of \(x.shape) and \(y.shape)")
            result = try ConstantMath.binary(opType, x, y)
        case "Neg", "Abs", "Sqrt", "Floor", "Ceil", "Not", "Reciprocal", "Exp", "Log":
            result = ConstantMath.unary(opType, x)
        case "Where":
            guard inputs.count == 3, let t = inputs[1], let f = inputs[2] else { return false }
            try ensure(ctx, checkedElementCount(try broadcastShape(x.shape, try broadcastShape(t.shape, f.shape))), "Where")
            result = try ConstantMath.select(x, t, f)
        case "Range":
            guard inputs.count == 3, let limit = inputs[1], let delta = inputs[2] else { return false }
            let (s, l, d) = (try x.scalar("start"), try limit.scalar("limit"), try delta.scalar("delta"))
            guard d != 0 else { throw ConversionError("Range: delta is 0") }
            let steps = ((l - s) / d).rounded(.up)
            guard steps.isFinite, steps < Double(1 << 28) else { throw ConversionError("Range: \(s) to \(l) by \(d) is too long to fold") }
            let n = max(Int(steps), 0)
            try ensure(ctx, n, "Range of \(n) values")
            result = ConstantTensor(shape: [n], values: (0..<n).map { s + Double($0) * d }, isInteger: x.isInteger)
        case "Expand":
            guard inputs.count == 2, let shape = inputs[1] else { return false }
            let target = try broadcastShape(x.shape, try checkedShape(try shape.integers("shape"), "Expand"))
            try ensure(ctx, checkedElementCount(target), "Expand to \(target)")
            result = try ConstantMath.broadcast(x, to: target)
        default:
            return false
        }
        // An empty result is fine while it stays a known value (a shape vector sliced to nothing);
        // materialising it as a Kiln value is an error.
        ctx.foldedElements += result.count
        ctx.define(0, constant: result)
        return true
    }

    /// `Constant`'s value from whichever attribute carries it.
    static func constantAttribute(_ a: NodeAttributes) throws -> ConstantTensor {
        if let t = a.tensor("value") { return try ConstantTensor(proto: t, what: "attribute 'value'") }
        if a.has("value_float") { return ConstantTensor(shape: [], values: [try a.float("value_float", 0)], isInteger: false) }
        if a.has("value_int") { return ConstantTensor(shape: [], values: [Double(try a.int("value_int", 0))], isInteger: true) }
        if let fs = try a.floats("value_floats") { return ConstantTensor(shape: [fs.count], values: fs, isInteger: false) }
        if let ints = try a.ints("value_ints") { return ConstantTensor(integers: ints) }
        throw ConversionError("only tensor, float and int values are supported (sparse and string constants are not)")
    }
}

/// NumPy-style broadcasting of two shapes.
func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
    let rank = max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a, pb = Array(repeating: 1, count: rank - b.count) + b
    return try zip(pa, pb).map { x, y in
        guard x == y || x == 1 || y == 1 else { throw ConversionError("shapes \(a) and \(b) do not broadcast") }
        return x == 1 ? y : x
    }
}
