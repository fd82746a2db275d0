import KilnIR
#if canImport(Glibc)
import Glibc
#endif

/// Initial values of every param and state tensor of `graph`, deterministic in `seed`.
/// Each tensor draws from its own stream keyed by a hash of its name, so adding a parameter
/// does not change the others.
public func initialState(for graph: Graph, seed: UInt64) -> [String: Tensor] {
    var state: [String: Tensor] = [:]
    for param in graph.params {
        state[param.name] = initialValue(param, seed: seed)
    }
    return state
}

/// One parameter's initial tensor.
public func initialValue(_ param: Param, seed: UInt64) -> Tensor {
    let tensor = Tensor(zeros: param.type)
    let count = param.type.elementCount
    let key = KilnRandom.key(seed: seed ^ KilnRandom.hash(param.name), step: 0)
    let (fanIn, fanOut) = fans(param.type.shape)
    if param.type.dtype == .i32 {
        let value: Int32
        switch param.initializer {
        case .ones: value = 1
        case .constant(let v): value = Int32(clamping: Int(v.rounded()))
        default: value = 0
        }
        for i in 0..<count { tensor.intPointer[i] = value }
        return tensor
    }
    let p = tensor.floatPointer
    switch param.initializer {
    case .zeros: break
    case .ones: for i in 0..<count { p[i] = 1 }
    case .constant(let v): for i in 0..<count { p[i] = Float(v) }
    case .uniform(let lo, let hi):
        for i in 0..<count { p[i] = Float(lo) + Float(hi - lo) * KilnRandom.uniform(key: key, index: UInt64(i)) }
    case .normal(let mean, let std):
        for i in 0..<count { p[i] = Float(mean) + Float(std) * KilnRandom.normal(key: key, index: UInt64(i)) }
    case .glorotUniform:
        let limit = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
        for i in 0..<count { p[i] = limit * (2 * KilnRandom.uniform(key: key, index: UInt64(i)) - 1) }
    case .heNormal:
        let std = Float((2.0 / Double(fanIn)).squareRoot())
        for i in 0..<count { p[i] = std * KilnRandom.normal(key: key, index: UInt64(i)) }
    case .glorotNormal:
        let std = Float((2.0 / Double(fanIn + fanOut)).squareRoot())
        for i in 0..<count { p[i] = std * KilnRandom.normal(key: key, index: UInt64(i)) }
    case .heUniform:
        let limit = Float((6.0 / Double(fanIn)).squareRoot())
        for i in 0..<count { p[i] = limit * (2 * KilnRandom.uniform(key: key, index: UInt64(i)) - 1) }
    }
    return tensor
}

/// Fan-in and fan-out: [in, out] for matrices, I·H·W and O·H·W for OIHW filters, the
/// element count for anything else (biases).
func fans(_ shape: Shape) -> (Int, Int) {
    switch shape.rank {
    case 2: return (shape[0], shape[1])
    case 4:
        let receptive = shape[2] * shape[3]
        return (shape[1] * receptive, shape[0] * receptive)
    default: return (Swift.max(shape.elementCount, 1), Swift.max(shape.elementCount, 1))
    }
}
