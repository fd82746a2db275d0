import KilnIR
#if canImport(Glibc)
import Glibc
#endif

/// Elementwise kernels: arithmetic and comparisons under broadcasting, unary math,
/// `select`, `cast`, `dropout`, and the source ops `constant` and `random_normal`.
enum ElementwiseKernels {
    /// The binary elementwise ops (`Kernels.execute` maps each `OpKind` to one, exhaustively).
    enum Binary {
        case add, sub, mul, div, max, min, pow, equal, notEqual, less, lessEqual, greater, greaterEqual
    }

    /// The unary elementwise ops with no attributes but alpha.
    enum Unary {
        case neg, exp, log, sqrt, rsqrt, square, abs, sign, tanh, sigmoid, relu, leakyRelu, elu, log1p, expm1, erf
    }

    static func binary(_ op: Binary, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        if a.dtype == .i32 {
            binaryInt(op, a, b, into: out)
            return
        }
        switch op {
        case .add: broadcastBinary(a, b, into: out) { $0 + $1 }
        case .sub: broadcastBinary(a, b, into: out) { $0 - $1 }
        case .mul: broadcastBinary(a, b, into: out) { $0 * $1 }
        case .div: broadcastBinary(a, b, into: out) { $0 / $1 }
        case .max: broadcastBinary(a, b, into: out) { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
        case .min: broadcastBinary(a, b, into: out) { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
        case .pow: broadcastBinary(a, b, into: out) { powf($0, $1) }
        case .equal: broadcastBinary(a, b, into: out) { $0 == $1 ? 1 : 0 }
        case .notEqual: broadcastBinary(a, b, into: out) { $0 != $1 ? 1 : 0 }
        case .less: broadcastBinary(a, b, into: out) { $0 < $1 ? 1 : 0 }
        case .lessEqual: broadcastBinary(a, b, into: out) { $0 <= $1 ? 1 : 0 }
        case .greater: broadcastBinary(a, b, into: out) { $0 > $1 ? 1 : 0 }
        case .greaterEqual: broadcastBinary(a, b, into: out) { $0 >= $1 ? 1 : 0 }
        }
    }

    /// i32 arithmetic wraps like C; division by zero yields 0 rather than trapping.
    private static func binaryInt(_ op: Binary, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        switch op {
        case .add: broadcastBinaryInt(a, b, into: out) { $0 &+ $1 }
        case .sub: broadcastBinaryInt(a, b, into: out) { $0 &- $1 }
        case .mul: broadcastBinaryInt(a, b, into: out) { $0 &* $1 }
        case .div: broadcastBinaryInt(a, b, into: out) { $1 == 0 ? 0 : $0.dividedReportingOverflow(by: $1).partialValue }
        case .max: broadcastBinaryInt(a, b, into: out) { Swift.max($0, $1) }
        case .min: broadcastBinaryInt(a, b, into: out) { Swift.min($0, $1) }
        case .equal: broadcastBinaryInt(a, b, into: out) { $0 == $1 ? 1 : 0 }
        case .notEqual: broadcastBinaryInt(a, b, into: out) { $0 != $1 ? 1 : 0 }
        case .less: broadcastBinaryInt(a, b, into: out) { $0 < $1 ? 1 : 0 }
        case .lessEqual: broadcastBinaryInt(a, b, into: out) { $0 <= $1 ? 1 : 0 }
        case .greater: broadcastBinaryInt(a, b, into: out) { $0 > $1 ? 1 : 0 }
        case .greaterEqual: broadcastBinaryInt(a, b, into: out) { $0 >= $1 ? 1 : 0 }
        case .pow: break  // rejected by the shape rules: pow is f32 only
        }
    }

    static func select(_ c: Tensor, _ a: Tensor, _ b: Tensor, into out: Tensor) {
        let plan = BroadcastPlan(output: out.shape, operands: [c.shape, a.shape, b.shape])
        let length = plan.rowLength
        let pa = a.intPointer, pb = b.intPointer, po = out.intPointer
        let isFloat = c.dtype == .f32
        let cf = c.floatPointer, ci = c.intPointer
        plan.forEachRow { base, o, s in
            for j in 0..<length {
                let chosen = isFloat ? cf[o[0] + j * s[0]] != 0 : ci[o[0] + j * s[0]] != 0
                po[base + j] = chosen ? pa[o[1] + j * s[1]] : pb[o[2] + j * s[2]]
            }
        }
    }

    static func unary(_ op: Unary, _ x: Tensor, _ attrs: Attributes, into out: Tensor) {
        let n = x.elementCount
        if x.dtype == .i32 {
            let px = x.intPointer, po = out.intPointer
            for i in 0..<n {
                let v = px[i]
                switch op {
                case .neg: po[i] = 0 &- v
                case .abs: po[i] = v == .min ? v : Swift.abs(v)
                case .square: po[i] = v &* v
                case .sign: po[i] = v > 0 ? 1 : (v < 0 ? -1 : 0)
                case .relu: po[i] = Swift.max(v, 0)
                // f32 only: rejected by the shape rules before a kernel runs.
                case .exp, .log, .sqrt, .rsqrt, .tanh, .sigmoid, .leakyRelu, .elu, .log1p, .expm1, .erf: po[i] = v
                }
            }
            return
        }
        let px = x.floatPointer, po = out.floatPointer
        switch op {
        case .neg: for i in 0..<n { po[i] = -px[i] }
        case .exp: for i in 0..<n { po[i] = expf(px[i]) }
        case .log: for i in 0..<n { po[i] = logf(px[i]) }
        case .log1p: for i in 0..<n { po[i] = log1pf(px[i]) }
        case .expm1: for i in 0..<n { po[i] = expm1f(px[i]) }
        case .erf: for i in 0..<n { po[i] = erff(px[i]) }
        case .sqrt: for i in 0..<n { po[i] = px[i].squareRoot() }
        case .rsqrt: for i in 0..<n { po[i] = 1 / px[i].squareRoot() }
        case .square: for i in 0..<n { po[i] = px[i] * px[i] }
        case .abs: for i in 0..<n { po[i] = Swift.abs(px[i]) }
        case .sign: for i in 0..<n { po[i] = px[i] > 0 ? 1 : (px[i] < 0 ? -1 : 0) }
        case .tanh: for i in 0..<n { po[i] = tanhf(px[i]) }
        case .sigmoid:
            // Stable for large |x|: never exponentiate a large positive number.
            for i in 0..<n {
                let v = px[i]
                if v >= 0 { po[i] = 1 / (1 + expf(-v)) } else { let e = expf(v); po[i] = e / (1 + e) }
            }
        // `x ≤ 0 ? 0 : x`, not `x > 0 ? x : 0`: NaN fails both tests, and must stay NaN (as
        // NumPy's maximum and PyTorch's relu) rather than hide bad data as 0; -0 still gives +0.
        case .relu: for i in 0..<n { po[i] = px[i] <= 0 ? 0 : px[i] }
        case .leakyRelu:
            let alpha = Float(attrs.float("alpha"))
            for i in 0..<n { po[i] = px[i] > 0 ? px[i] : alpha * px[i] }
        case .elu:
            let alpha = Float(attrs.float("alpha"))
            for i in 0..<n { po[i] = px[i] > 0 ? px[i] : alpha * expm1f(px[i]) }
        }
    }

    static func cast(_ x: Tensor, into out: Tensor) {
        let n = x.elementCount
        switch (x.dtype, out.dtype) {
        case (.f32, .i32):
            for i in 0..<n {
                let v = x.floatPointer[i]
                // Truncation toward zero, saturating where the float does not fit (NaN → 0).
                out.intPointer[i] = v.isNaN ? 0 : (v >= 2_147_483_647 ? .max : (v <= -2_147_483_648 ? .min : Int32(v)))
            }
        case (.i32, .f32): for i in 0..<n { out.floatPointer[i] = Float(x.intPointer[i]) }
        default: out.storage.pointer.copyMemory(from: x.storage.pointer, byteCount: x.type.byteCount)
        }
    }

    /// Keeps x where uniform(seed, step, i) ≥ rate, scaled by 1/(1 − rate).
    static func dropout(_ x: Tensor, rate: Float, seed: Int, step: Int, into out: Tensor) {
        let key = KilnRandom.key(seed: UInt64(bitPattern: Int64(seed)), step: UInt64(bitPattern: Int64(step)))
        let scale = 1 / (1 - rate)
        let px = x.floatPointer, po = out.floatPointer
        for i in 0..<x.elementCount {
            po[i] = KilnRandom.uniform(key: key, index: UInt64(i)) >= rate ? px[i] * scale : 0
        }
    }

    /// 1 where uniform(seed, step, i) < p, else 0: P(1) = p for p in [0, 1] (24-bit uniforms,
    /// so p is effectively rounded to a multiple of 2⁻²⁴).
    static func bernoulli(_ p: Tensor, seed: Int, step: Int, into out: Tensor) {
        let key = KilnRandom.key(seed: UInt64(bitPattern: Int64(seed)), step: UInt64(bitPattern: Int64(step)))
        let pp = p.floatPointer, po = out.floatPointer
        for i in 0..<p.elementCount { po[i] = KilnRandom.uniform(key: key, index: UInt64(i)) < pp[i] ? 1 : 0 }
    }

    /// softplus(x) = max(x, 0) + log1p(exp(−|x|)): never exponentiates a positive number.
    static func softplus(_ x: Tensor, into out: Tensor) {
        let px = x.floatPointer, po = out.floatPointer
        for i in 0..<x.elementCount {
            let v = px[i]
            po[i] = (v > 0 ? v : 0) + log1pf(expf(-Swift.abs(v)))
        }
    }

    static func constant(_ attrs: Attributes, into out: Tensor) {
        let value = attrs.float("value")
        if out.dtype == .i32 {
            let v = Int32(saturating: value)
            for i in 0..<out.elementCount { out.intPointer[i] = v }
        } else {
            let v = Float(value)
            for i in 0..<out.elementCount { out.floatPointer[i] = v }
        }
    }

    static func randomNormal(_ attrs: Attributes, step: Int, into out: Tensor) {
        let key = KilnRandom.key(seed: UInt64(bitPattern: Int64(attrs.int("seed"))), step: UInt64(bitPattern: Int64(step)))
        let mean = Float(attrs.float("mean")), std = Float(attrs.float("std"))
        for i in 0..<out.elementCount { out.floatPointer[i] = mean + std * KilnRandom.normal(key: key, index: UInt64(i)) }
    }

    /// low + (high − low)·u with u uniform in [0, 1): the same float operations as the JIT.
    static func randomUniform(_ attrs: Attributes, step: Int, into out: Tensor) {
        let key = KilnRandom.key(seed: UInt64(bitPattern: Int64(attrs.int("seed"))), step: UInt64(bitPattern: Int64(step)))
        let low = Float(attrs.float("low")), width = Float(attrs.float("high")) - Float(attrs.float("low"))
        for i in 0..<out.elementCount { out.floatPointer[i] = low + width * KilnRandom.uniform(key: key, index: UInt64(i)) }
    }

    /// Each element's index along `axis` (negative counts from the end).
    static func iota(axis rawAxis: Int, into out: Tensor) {
        let dims = out.shape.dims
        let axis = rawAxis < 0 ? rawAxis + dims.count : rawAxis
        let inner = dims[(axis + 1)...].reduce(1, *), extent = dims[axis]
        for i in 0..<out.elementCount {
            let v = (i / inner) % extent
            // The shape rule keeps an i32 iota's axis within Int32.
            if out.dtype == .i32 { out.intPointer[i] = Int32(truncatingIfNeeded: v) } else { out.floatPointer[i] = Float(v) }
        }
    }
}
