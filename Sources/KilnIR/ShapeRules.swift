/// Shape rules: the result type of each op from its operand types and attributes.
/// Errors name the shapes involved; `ShapeInference` adds the op name and the location.
extension OpKind {
    public func resultType(_ operands: [TensorType], _ attrs: Attributes) throws -> TensorType {
        func f32Only(_ t: TensorType) throws {
            guard t.dtype == .f32 else { throw TypeError("expects f32, got \(t)") }
        }
        switch self {
        case .constant:
            return TensorType(attrs.dtype("dtype"), try checkedShape(attrs.ints("shape"), "shape"))
        case .random_normal:
            return TensorType(.f32, try checkedShape(attrs.ints("shape"), "shape"))
        case .random_uniform:
            let low = attrs.float("low"), high = attrs.float("high")
            guard low.isFinite, high.isFinite, low <= high else {
                throw TypeError("low and high must be finite with low <= high, got \(formatFloat(low)) and \(formatFloat(high))")
            }
            return TensorType(.f32, try checkedShape(attrs.ints("shape"), "shape"))
        case .iota:
            let shape = try checkedShape(attrs.ints("shape"), "shape")
            let type = TensorType(attrs.dtype("dtype"), shape)
            let axis = try normalizedAxis(attrs.int("axis"), rank: shape.rank, type)
            guard type.dtype == .f32 || shape[axis] <= Int(Int32.max) else {
                throw TypeError("axis \(axis) of \(type) is longer than the i32 range")
            }
            return type

        case .add, .sub, .mul, .div, .max, .min, .pow,
             .equal, .not_equal, .less, .less_equal, .greater, .greater_equal:
            let (a, b) = (operands[0], operands[1])
            guard a.dtype == b.dtype else { throw TypeError("element types differ: \(a) and \(b)") }
            if self == .pow { try f32Only(a) }
            return TensorType(a.dtype, try broadcastShapes(a.shape, b.shape, a, b))
        case .select:
            let (c, a, b) = (operands[0], operands[1], operands[2])
            guard a.dtype == b.dtype else { throw TypeError("element types differ: \(a) and \(b)") }
            let ab = try broadcastShapes(a.shape, b.shape, a, b)
            return TensorType(a.dtype, try broadcastShapes(c.shape, ab, c, TensorType(a.dtype, ab)))

        case .if_training:
            let (a, b) = (operands[0], operands[1])
            guard a.dtype == b.dtype else { throw TypeError("element types differ: \(a) and \(b)") }
            guard (try? broadcastShapes(a.shape, b.shape, a, b)) == a.shape else {
                throw TypeError("the evaluation value \(b) must broadcast to the training value \(a)")
            }
            return a
        case .neg, .abs, .square, .sign, .relu, .stop_gradient:
            return operands[0]
        case .exp, .log, .sqrt, .rsqrt, .tanh, .sigmoid, .leaky_relu, .elu, .log1p, .expm1, .erf, .softplus, .bernoulli:
            try f32Only(operands[0])
            return operands[0]
        case .cast:
            return TensorType(attrs.dtype("dtype"), operands[0].shape)
        case .dropout:
            try f32Only(operands[0])
            let rate = attrs.float("rate")
            guard rate >= 0, rate < 1 else { throw TypeError("rate must be in [0, 1), got \(formatFloat(rate))") }
            return operands[0]

        case .matmul:
            return try matmulType(operands[0], operands[1], attrs.bool("transpose_a"), attrs.bool("transpose_b"))
        case .conv2d:
            let (x, w) = (operands[0], operands[1])
            try f32Only(x); try f32Only(w)
            guard x.rank == 4 else { throw TypeError("input must be rank 4 (NCHW), got \(x)") }
            guard w.rank == 4 else { throw TypeError("filter must be rank 4 (OIHW), got \(w)") }
            let groups = attrs.convolutionGroups
            guard groups >= 1 else { throw TypeError("groups must be at least 1, got \(groups)") }
            guard w.shape[0] % groups == 0 else {
                throw TypeError("\(w.shape[0]) filters do not split into \(groups) groups")
            }
            guard x.shape[1] == w.shape[1] * groups else {
                let expected = groups == 1 ? "\(w.shape[1])" : "\(w.shape[1]) per group × \(groups) groups"
                throw TypeError("input channels differ: input \(x) has \(x.shape[1]), filter \(w) expects \(expected)")
            }
            let (oh, ow) = try windowOutput(x, window: [w.shape[2], w.shape[3]], attrs: attrs)
            return TensorType(.f32, [x.shape[0], w.shape[0], oh, ow])
        case .max_pool2d, .avg_pool2d:
            let x = operands[0]
            try f32Only(x)
            guard x.rank == 4 else { throw TypeError("input must be rank 4 (NCHW), got \(x)") }
            let (oh, ow) = try windowOutput(x, window: attrs.ints("window"), attrs: attrs)
            return TensorType(.f32, [x.shape[0], x.shape[1], oh, ow])

        case .transpose:
            let x = operands[0], perm = attrs.ints("perm")
            guard perm.count == x.rank, Set(perm) == Set(0..<x.rank) else {
                throw TypeError("perm \(AttrValue.ints(perm)) is not a permutation of the \(x.rank) axes of \(x)")
            }
            return TensorType(x.dtype, Shape(perm.map { x.shape[$0] }))
        case .reshape:
            let x = operands[0]
            return TensorType(x.dtype, try reshaped(x, attrs.ints("shape")))
        case .broadcast_to:
            let x = operands[0]
            let target = try checkedShape(attrs.ints("shape"), "shape")
            let result = try broadcastShapes(x.shape, target, x, TensorType(x.dtype, target))
            guard result == target else { throw TypeError("cannot broadcast \(x) to \(target)") }
            return TensorType(x.dtype, target)
        case .concat:
            return try concatType(operands, axis: attrs.int("axis"))
        case .slice:
            let x = operands[0], begin = attrs.ints("begin"), end = attrs.ints("end")
            guard begin.count == x.rank, end.count == x.rank else {
                throw TypeError("begin and end need \(x.rank) entries for \(x)")
            }
            for axis in 0..<x.rank where !(0 <= begin[axis] && begin[axis] <= end[axis] && end[axis] <= x.shape[axis]) {
                throw TypeError("slice [\(begin[axis]), \(end[axis])) is out of bounds for axis \(axis) of \(x)")
            }
            // A zero-sized axis is not a type the text format can spell, so an empty slice is an error.
            for axis in 0..<x.rank where begin[axis] == end[axis] {
                throw TypeError("slice [\(begin[axis]), \(end[axis])) of axis \(axis) of \(x) is empty")
            }
            return TensorType(x.dtype, Shape(zip(begin, end).map { $1 - $0 }))
        case .pad:
            let x = operands[0], before = attrs.ints("before"), after = attrs.ints("after")
            guard before.count == x.rank, after.count == x.rank, (before + after).allSatisfy({ $0 >= 0 }) else {
                throw TypeError("before and after need \(x.rank) non-negative entries for \(x)")
            }
            return TensorType(x.dtype, Shape(try (0..<x.rank).map { try checkedSum([x.shape[$0], before[$0], after[$0]], "the padded \(x)") }))
        case .gather:
            let (table, indices) = (operands[0], operands[1])
            guard table.rank >= 1 else { throw TypeError("table must have rank 1 or more, got \(table)") }
            guard indices.dtype == .i32 else { throw TypeError("indices must be i32, got \(indices)") }
            return TensorType(table.dtype, Shape(indices.shape.dims + table.shape.dims.dropFirst()))
        case .gather_grad:
            let (dy, indices) = (operands[0], operands[1])
            guard indices.dtype == .i32 else { throw TypeError("indices must be i32, got \(indices)") }
            guard attrs.int("rows") > 0 else { throw TypeError("rows must be positive, got \(attrs.int("rows"))") }
            guard dy.shape.dims.starts(with: indices.shape.dims) else {
                throw TypeError("gradient \(dy) does not start with the indices' shape \(indices.shape)")
            }
            return TensorType(dy.dtype, Shape([attrs.int("rows")] + dy.shape.dims.dropFirst(indices.rank)))
        case .one_hot:
            let x = operands[0], depth = attrs.int("depth")
            guard x.dtype == .i32 else { throw TypeError("expects i32 indices, got \(x)") }
            guard depth > 0 else { throw TypeError("depth must be positive, got \(depth)") }
            return TensorType(.f32, Shape(x.shape.dims + [depth]))
        case .argmax:
            let x = operands[0]
            let axis = try normalizedAxis(attrs.int("axis"), rank: x.rank, x)
            var dims = x.shape.dims
            dims.remove(at: axis)
            return TensorType(.i32, Shape(dims))

        case .reduce_sum, .reduce_mean, .reduce_max:
            let x = operands[0]
            if self == .reduce_mean { try f32Only(x) }
            let axes = try normalizedAxes(attrs.ints("axes"), x)
            let keep = attrs.bool("keep_dims")
            var dims: [Int] = []
            for axis in 0..<x.rank {
                if axes.contains(axis) { if keep { dims.append(1) } } else { dims.append(x.shape[axis]) }
            }
            return TensorType(x.dtype, Shape(dims))
        case .softmax, .log_softmax:
            try f32Only(operands[0])
            _ = try normalizedAxis(attrs.int("axis"), rank: operands[0].rank, operands[0])
            return operands[0]

        case .softmax_cross_entropy:
            let (logits, labels) = (operands[0], operands[1])
            try checkClassification(logits, labels)
            return TensorType(.f32, .scalar)
        case .softmax_cross_entropy_grad:
            try checkClassification(operands[0], operands[1])
            guard operands[2].rank == 0 else { throw TypeError("loss gradient must be a scalar, got \(operands[2])") }
            return operands[0]
        case .mse, .binary_cross_entropy, .sigmoid_cross_entropy:
            let (a, b) = (operands[0], operands[1])
            try f32Only(a); try f32Only(b)
            guard a.shape == b.shape else { throw TypeError("prediction \(a) and target \(b) differ in shape") }
            return TensorType(.f32, .scalar)

        case .conv2d_grad_input, .conv2d_grad_filter:
            let shape = try checkedShape(attrs.ints("shape"), "shape")
            guard shape.rank == 4 else { throw TypeError("shape must have 4 dimensions, got \(shape)") }
            let groups = attrs.convolutionGroups
            guard groups >= 1 else { throw TypeError("groups must be at least 1, got \(groups)") }
            // grad_input: shape is x's [N, C, H, W] (C splits into the groups) and w is the filter;
            // grad_filter: shape is the filter's [O, C/groups, KH, KW] (O splits into the groups).
            let input = self == .conv2d_grad_input
            let filters = input ? (operands[1].rank == 4 ? operands[1].shape[0] : 0) : shape[0]
            guard filters % groups == 0, !input || shape[1] % groups == 0 else {
                throw TypeError("groups \(groups) does not divide \(input ? "the \(shape[1]) channels and " : "")\(filters) filters")
            }
            return TensorType(.f32, shape)
        case .max_pool2d_grad:
            return operands[0]
        case .fused:
            throw TypeError("a fused kernel's types come from its body")
        case .avg_pool2d_grad:
            let shape = try checkedShape(attrs.ints("shape"), "shape")
            guard shape.rank == 4 else { throw TypeError("shape must have 4 dimensions, got \(shape)") }
            return TensorType(.f32, shape)
        }
    }
}

/// Numpy broadcasting: align trailing axes; each pair must be equal or contain a 1.
public func broadcastShapes(_ a: Shape, _ b: Shape, _ ta: TensorType, _ tb: TensorType) throws -> Shape {
    let rank = Swift.max(a.rank, b.rank)
    var dims = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.rank ? 1 : a[i - (rank - a.rank)]
        let db = i < rank - b.rank ? 1 : b[i - (rank - b.rank)]
        guard da == db || da == 1 || db == 1 else { throw TypeError("cannot broadcast \(ta) and \(tb)") }
        dims[i] = da == 1 ? db : da
    }
    return Shape(dims)
}

/// Resolves a possibly negative axis against `rank`.
public func normalizedAxis(_ axis: Int, rank: Int, _ t: TensorType) throws -> Int {
    let resolved = axis < 0 ? axis + rank : axis
    guard resolved >= 0, resolved < rank else { throw TypeError("axis \(axis) is out of range for \(t)") }
    return resolved
}

public func normalizedAxes(_ axes: [Int], _ t: TensorType) throws -> [Int] {
    let resolved = try axes.map { try normalizedAxis($0, rank: t.rank, t) }
    guard Set(resolved).count == resolved.count else { throw TypeError("axes \(AttrValue.ints(axes)) repeat an axis of \(t)") }
    return resolved.sorted()
}

private func checkedShape(_ dims: [Int], _ what: String) throws -> Shape {
    guard dims.allSatisfy({ $0 > 0 }) else { throw TypeError("\(what) \(AttrValue.ints(dims)) must have positive dimensions") }
    return Shape(dims)
}

private func reshaped(_ x: TensorType, _ target: [Int]) throws -> Shape {
    let wildcards = target.filter { $0 == -1 }.count
    guard wildcards <= 1, target.allSatisfy({ $0 > 0 || $0 == -1 }) else {
        throw TypeError("shape \(AttrValue.ints(target)) may have positive sizes and at most one -1")
    }
    guard let known = representableCount(target.filter { $0 > 0 }) else {
        throw TypeError("shape \(AttrValue.ints(target)) has more than 2^40 elements")
    }
    var dims = target
    if let slot = dims.firstIndex(of: -1) {
        guard known > 0, x.elementCount % known == 0 else {
            throw TypeError("cannot reshape \(x) (\(x.elementCount) elements) to \(AttrValue.ints(target))")
        }
        dims[slot] = x.elementCount / known
    }
    guard dims.reduce(1, *) == x.elementCount else {
        throw TypeError("cannot reshape \(x) (\(x.elementCount) elements) to \(Shape(dims)) (\(dims.reduce(1, *)) elements)")
    }
    return Shape(dims)
}

private func matmulType(_ a: TensorType, _ b: TensorType, _ ta: Bool, _ tb: Bool) throws -> TensorType {
    guard a.dtype == .f32, b.dtype == .f32 else { throw TypeError("expects f32 operands, got \(a) and \(b)") }
    guard a.rank >= 2, b.rank >= 2 else {
        throw TypeError("operands must have rank 2 or more, got \(a) and \(b)")
    }
    let (m, k1) = ta ? (a.shape[a.rank - 1], a.shape[a.rank - 2]) : (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (k2, n) = tb ? (b.shape[b.rank - 1], b.shape[b.rank - 2]) : (b.shape[b.rank - 2], b.shape[b.rank - 1])
    guard k1 == k2 else { throw TypeError("inner dimensions differ: \(a) × \(b) (\(k1) vs \(k2))") }
    // Batch axes (all but the last two) broadcast like NumPy's matmul.
    let batchA = Shape(Array(a.shape.dims.dropLast(2))), batchB = Shape(Array(b.shape.dims.dropLast(2)))
    let batch: Shape
    do { batch = try broadcastShapes(batchA, batchB, a, b) } catch {
        throw TypeError("batch dimensions do not broadcast: \(a) × \(b)")
    }
    guard let _ = representableCount(batch.dims + [m, n]) else { throw TypeError("the product of \(a) and \(b) has more than 2^40 elements") }
    return TensorType(.f32, Shape(batch.dims + [m, n]))
}

private func concatType(_ operands: [TensorType], axis rawAxis: Int) throws -> TensorType {
    let first = operands[0]
    let axis = try normalizedAxis(rawAxis, rank: first.rank, first)
    var dims = first.shape.dims
    for t in operands.dropFirst() {
        guard t.dtype == first.dtype, t.rank == first.rank,
              (0..<t.rank).allSatisfy({ $0 == axis || t.shape[$0] == first.shape[$0] }) else {
            throw TypeError("cannot concatenate \(first) and \(t) along axis \(rawAxis)")
        }
        dims[axis] += t.shape[axis]
    }
    return TensorType(first.dtype, Shape(dims))
}

/// Output height and width of a sliding window (convolution or pooling) over NCHW input.
private func windowOutput(_ x: TensorType, window: [Int], attrs: Attributes) throws -> (Int, Int) {
    let stride = attrs.ints("stride"), padding = attrs.ints("padding")
    guard window.count == 2, window.allSatisfy({ $0 > 0 }) else {
        throw TypeError("window \(AttrValue.ints(window)) must be two positive sizes")
    }
    guard stride.count == 2, stride.allSatisfy({ $0 > 0 }) else {
        throw TypeError("stride \(AttrValue.ints(stride)) must be two positive sizes")
    }
    guard padding.count == 2, padding.allSatisfy({ $0 >= 0 }) else {
        throw TypeError("padding \(AttrValue.ints(padding)) must be two sizes >= 0")
    }
    let h = try checkedSum([x.shape[2], padding[0], padding[0]], "the padded \(x)")
    let w = try checkedSum([x.shape[3], padding[1], padding[1]], "the padded \(x)")
    guard window[0] <= h, window[1] <= w else {
        throw TypeError("window \(AttrValue.ints(window)) is larger than the padded input \(h)×\(w) of \(x)")
    }
    return ((h - window[0]) / stride[0] + 1, (w - window[1]) / stride[1] + 1)
}

private func checkClassification(_ logits: TensorType, _ labels: TensorType) throws {
    guard logits.dtype == .f32, logits.rank == 2 else { throw TypeError("logits must be f32[N, C], got \(logits)") }
    guard labels.dtype == .i32, labels.shape == Shape([logits.shape[0]]) else {
        throw TypeError("labels must be i32[\(logits.shape[0])] for logits \(logits), got \(labels)")
    }
}

/// Tensors are capped at 2^40 elements so that element and byte counts never overflow `Int`
/// (a huge shape written in a `.kiln` file is a diagnostic, not a trap).
let maxElementCount = 1 << 40

/// The element count of `dims`, or nil when it exceeds `maxElementCount`.
func representableCount(_ dims: [Int]) -> Int? {
    var count = 1
    for d in dims {
        let (product, overflow) = count.multipliedReportingOverflow(by: Swift.max(d, 0))
        guard !overflow, product <= maxElementCount else { return nil }
        count = product
    }
    return count
}

/// A sum of sizes, as a diagnostic rather than a trap when attributes are absurdly large.
private func checkedSum(_ terms: [Int], _ what: String) throws -> Int {
    var total = 0
    for t in terms {
        let (sum, overflow) = total.addingReportingOverflow(t)
        guard !overflow, sum <= maxElementCount else { throw TypeError("an axis of \(what) is longer than 2^40") }
        total = sum
    }
    return total
}
