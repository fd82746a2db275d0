import Foundation

/// Arithmetic and layout on `ConstantTensor`s, for folding (small tensors: shape vectors).
enum ConstantMath {
    static func strides(_ shape: [Int]) -> [Int] {
        var s = Array(repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * shape[i + 1] }
        return s
    }

    /// Element `i` of the result reads element `index(i)` of the source (a gather by index lists).
    static func take(_ x: ConstantTensor, _ plan: SlicePlan) -> ConstantTensor {
        let outShape = plan.indices.map(\.count), inStrides = strides(x.shape)
        let count = outShape.reduce(1, *)
        var values: [Double] = []
        values.reserveCapacity(count)
        var position = Array(repeating: 0, count: outShape.count)
        for _ in 0..<count {
            var source = 0
            for axis in 0..<outShape.count { source += plan.indices[axis][position[axis]] * inStrides[axis] }
            values.append(x.values[source])
            var axis = outShape.count - 1
            while axis >= 0 {
                position[axis] += 1
                if position[axis] < outShape[axis] { break }
                position[axis] = 0
                axis -= 1
            }
        }
        return ConstantTensor(shape: outShape, values: values, isInteger: x.isInteger)
    }

    static func concat(_ parts: [ConstantTensor], axis: Int) throws -> ConstantTensor {
        guard let first = parts.first else { throw ConversionError("Concat needs at least one input") }
        // Rank-1 shape vectors are the common case; the general one walks outer × axis × inner blocks.
        let outer = first.shape[..<axis].reduce(1, *)
        var shape = first.shape
        shape[axis] = 0
        for p in parts {
            guard p.shape.count == first.shape.count, (0..<p.shape.count).allSatisfy({ $0 == axis || p.shape[$0] == first.shape[$0] }) else {
                throw ConversionError("cannot concatenate shapes \(first.shape) and \(p.shape) along axis \(axis)")
            }
            shape[axis] += p.shape[axis]
        }
        var values: [Double] = []
        for o in 0..<outer {
            for p in parts {
                let block = p.shape[axis...].reduce(1, *)
                values += p.values[(o * block)..<((o + 1) * block)]
            }
        }
        return ConstantTensor(shape: shape, values: values, isInteger: parts.allSatisfy(\.isInteger))
    }

    static func gather(_ x: ConstantTensor, indices: [Int], indexShape: [Int], axis: Int) throws -> ConstantTensor {
        let n = x.shape[axis]
        let normalized = try indices.map { i -> Int in
            let j = i < 0 ? i + n : i
            guard j >= 0, j < n else { throw ConversionError("Gather: index \(i) is out of range for axis \(axis) of size \(n)") }
            return j
        }
        var plan = SlicePlan(indices: x.shape.map { Array(0..<$0) })
        plan.indices[axis] = normalized
        var taken = take(x, plan)
        taken.shape = Array(x.shape[..<axis]) + indexShape + Array(x.shape[(axis + 1)...])
        return taken
    }

    static func broadcast(_ x: ConstantTensor, to shape: [Int]) throws -> ConstantTensor {
        let padded = Array(repeating: 1, count: shape.count - x.shape.count) + x.shape
        let plan = SlicePlan(indices: zip(padded, shape).map { d, target in d == 1 ? Array(repeating: 0, count: target) : Array(0..<target) })
        var r = take(ConstantTensor(shape: padded, values: x.values, isInteger: x.isInteger), plan)
        r.shape = shape
        return r
    }

    static func binary(_ op: String, _ a: ConstantTensor, _ b: ConstantTensor) throws -> ConstantTensor {
        let shape = try broadcastShape(a.shape, b.shape)
        let x = try broadcast(a, to: shape), y = try broadcast(b, to: shape)
        let integer = a.isInteger && b.isInteger
        let comparison = ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"].contains(op)
        let values = zip(x.values, y.values).map { p, q -> Double in
            switch op {
            case "Add": return p + q
            case "Sub": return p - q
            case "Mul": return p * q
            case "Div": return integer ? (q == 0 ? 0 : (p / q).rounded(.towardZero)) : p / q
            case "Pow": return Foundation.pow(p, q)
            case "Max": return Swift.max(p, q)
            case "Min": return Swift.min(p, q)
            case "Mod": return q == 0 ? 0 : p - (p / q).rounded(.down) * q
            case "Equal": return p == q ? 1 : 0
            case "Less": return p < q ? 1 : 0
            case "Greater": return p > q ? 1 : 0
            case "LessOrEqual": return p <= q ? 1 : 0
            default: return p >= q ? 1 : 0
            }
        }
        let isInteger = integer || comparison
        return ConstantTensor(shape: shape, values: isInteger ? values : values.map { Double(Float($0)) }, isInteger: isInteger)
    }

    static func unary(_ op: String, _ x: ConstantTensor) -> ConstantTensor {
        let values = x.values.map { v -> Double in
            switch op {
            case "Neg": return -v
            case "Abs": return abs(v)
            case "Sqrt": return v.squareRoot()
            case "Floor": return v.rounded(.down)
            case "Ceil": return v.rounded(.up)
            case "Not": return v == 0 ? 1 : 0
            case "Reciprocal": return 1 / v
            case "Exp": return Foundation.exp(v)
            default: return Foundation.log(v)
            }
        }
        return ConstantTensor(shape: x.shape, values: x.isInteger ? values : values.map { Double(Float($0)) }, isInteger: x.isInteger)
    }

    static func select(_ c: ConstantTensor, _ t: ConstantTensor, _ f: ConstantTensor) throws -> ConstantTensor {
        let shape = try broadcastShape(c.shape, try broadcastShape(t.shape, f.shape))
        let (cb, tb, fb) = (try broadcast(c, to: shape), try broadcast(t, to: shape), try broadcast(f, to: shape))
        let values = (0..<cb.count).map { cb.values[$0] != 0 ? tb.values[$0] : fb.values[$0] }
        return ConstantTensor(shape: shape, values: values, isInteger: t.isInteger && f.isInteger)
    }
}
