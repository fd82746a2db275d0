import KilnIR
import KilnTensor
#if canImport(Glibc)
import Glibc
#endif

/// Pointers to the chunks a program's lanes hold, indexed by slot.
typealias LaneSlots = UnsafeMutablePointer<UnsafeMutableRawPointer>
/// One primitive over one chunk: (slots, flat index of the chunk's first element, element
/// count, the step being run, which random draws read).
typealias LaneStep = (LaneSlots, Int, Int, Int) -> Void

/// The primitives of the scalar algebra as loops over a chunk: the interpreter's meaning of
/// each `ScalarFunction`, `ScalarOperation` and comparison, each a tight loop the optimiser
/// vectorises where it can. These are the only per-element Swift the interpreter's
/// elementwise ops run; what each op computes from them is `ElementwiseMeaning`.
enum ElementwiseLoops {
    /// The loop computing `lane` into slot `o` from its inputs' slots `s`.
    static func step(_ lane: Lane, into o: Int, from s: [Int]) -> LaneStep? {
        let isFloat = lane.inputs.first?.element == .f32
        switch lane.kind {
        case .operand, .float, .int: return nil
        case .function(let f, _): return isFloat ? function(f, o, s[0]) : intFunction(f, o, s[0])
        case .operation(let op, _, _): return isFloat ? operation(op, o, s[0], s[1]) : intOperation(op, o, s[0], s[1])
        case .test(let c, _, _): return isFloat ? test(c, o, s[0], s[1], Float.self) : test(c, o, s[0], s[1], Int32.self)
        case .both: return { p, _, n, _ in map2(p, o, s[0], s[1], n) { (a: Int32, b: Int32) -> Int32 in a & b } }
        case .either: return { p, _, n, _ in map2(p, o, s[0], s[1], n) { (a: Int32, b: Int32) -> Int32 in a | b } }
        case .choose:
            // Moves 32-bit words: the same loop for f32 and i32 lanes.
            return { p, _, n, _ in
                let po = p[o].assumingMemoryBound(to: UInt32.self), pc = p[s[0]].assumingMemoryBound(to: Int32.self)
                let pa = p[s[1]].assumingMemoryBound(to: UInt32.self), pb = p[s[2]].assumingMemoryBound(to: UInt32.self)
                // Both loads before the choice: a select the optimiser vectorises, not a branch.
                for i in 0..<n {
                    let a = pa[i], b = pb[i]
                    po[i] = pc[i] != 0 ? a : b
                }
            }
        case .convert(let x, let type): return convert(from: x.element, to: type, o, s[0])
        case .random(let draw, let seed):
            // The stream of (seed, step), drawn at the flat index: KilnRandom, which the JIT's
            // rendering of the loop IR's `random` reproduces in LLVM IR.
            switch draw {
            case .uniform:
                return { p, start, n, step in
                    let key = KilnRandom.key(seed: UInt64(bitPattern: Int64(seed)), step: UInt64(bitPattern: Int64(step)))
                    let po = p[o].assumingMemoryBound(to: Float.self)
                    for i in 0..<n { po[i] = KilnRandom.uniform(key: key, index: UInt64(start + i)) }
                }
            case .normal:
                return { p, start, n, step in
                    let key = KilnRandom.key(seed: UInt64(bitPattern: Int64(seed)), step: UInt64(bitPattern: Int64(step)))
                    let po = p[o].assumingMemoryBound(to: Float.self)
                    for i in 0..<n { po[i] = KilnRandom.normal(key: key, index: UInt64(start + i)) }
                }
            }
        case .coordinate(let inner, let extent):
            // The shape rules keep an i32 coordinate within Int32.
            if lane.element == .f32 {
                return { p, start, n, _ in
                    let po = p[o].assumingMemoryBound(to: Float.self)
                    for i in 0..<n { po[i] = Float(((start + i) / inner) % extent) }
                }
            }
            return { p, start, n, _ in
                let po = p[o].assumingMemoryBound(to: Int32.self)
                for i in 0..<n { po[i] = Int32(truncatingIfNeeded: ((start + i) / inner) % extent) }
            }
        }
    }

    private static func function(_ f: ScalarFunction, _ o: Int, _ a: Int) -> LaneStep {
        switch f {
        case .neg: return { p, _, n, _ in map1(p, o, a, n) { (v: Float) -> Float in -v } }
        case .abs: return { p, _, n, _ in map1(p, o, a, n) { (v: Float) -> Float in Swift.abs(v) } }
        case .exp: return { p, _, n, _ in map1(p, o, a, n) { (v: Float) -> Float in expf(v) } }
        case .expm1: return { p, _, n, _ in map1(p, o, a, n) { (v: Float) -> Float in expm1f(v) } }
        case .log: return { p, _, n, _ in map1(p, o, a, n) { (v: Float) -> Float in logf(v) } }
        case .log1p: return { p, _, n, _ in map1(p, o, a, n) { (v: Float) -> Float in log1pf(v) } }
        case .sqrt: return { p, _, n, _ in map1(p, o, a, n) { (v: Float) -> Float in v.squareRoot() } }
        case .tanh: return { p, _, n, _ in map1(p, o, a, n) { (v: Float) -> Float in tanhf(v) } }
        case .sigmoid:
            // Stable for large |x|: never exponentiate a large positive number.
            return { p, _, n, _ in
                map1(p, o, a, n) { (v: Float) -> Float in
                    if v >= 0 { return 1 / (1 + expf(-v)) }
                    let e = expf(v)
                    return e / (1 + e)
                }
            }
        }
    }

    /// i32 functions wrap; the float-only ones are rejected by the shape rules before a kernel
    /// runs, and pass the value through rather than trap.
    private static func intFunction(_ f: ScalarFunction, _ o: Int, _ a: Int) -> LaneStep {
        switch f {
        case .neg: return { p, _, n, _ in map1(p, o, a, n) { (v: Int32) -> Int32 in 0 &- v } }
        case .abs: return { p, _, n, _ in map1(p, o, a, n) { (v: Int32) -> Int32 in v == .min ? v : Swift.abs(v) } }
        case .exp, .expm1, .log, .log1p, .sqrt, .tanh, .sigmoid: return { p, _, n, _ in map1(p, o, a, n) { (v: Int32) -> Int32 in v } }
        }
    }

    private static func operation(_ op: ScalarOperation, _ o: Int, _ a: Int, _ b: Int) -> LaneStep {
        switch op {
        case .add: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x + y } }
        case .sub: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x - y } }
        case .mul: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x * y } }
        case .div: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x / y } }
        case .maxNaN: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x.isNaN || y.isNaN ? .nan : Swift.max(x, y) } }
        case .minNaN: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x.isNaN || y.isNaN ? .nan : Swift.min(x, y) } }
        case .pow: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in powf(x, y) } }
        }
    }

    /// i32 arithmetic wraps like C; division is total (by zero: 0, Int32.min / −1: Int32.min),
    /// though the definitions already guard both.
    private static func intOperation(_ op: ScalarOperation, _ o: Int, _ a: Int, _ b: Int) -> LaneStep {
        switch op {
        case .add: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in x &+ y } }
        case .sub: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in x &- y } }
        case .mul: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in x &* y } }
        case .div:
            return { p, _, n, _ in map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in y == 0 ? 0 : x.dividedReportingOverflow(by: y).partialValue } }
        case .maxNaN: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in Swift.max(x, y) } }
        case .minNaN: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in Swift.min(x, y) } }
        // f32 only (the shape rules); computed through f32 rather than trap.
        case .pow: return { p, _, n, _ in map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in Int32(saturating: Double(powf(Float(x), Float(y)))) } }
        }
    }

    private static func test<T: Comparable>(_ c: ScalarComparison, _ o: Int, _ a: Int, _ b: Int, _: T.Type) -> LaneStep {
        switch c {
        case .eq: return { p, _, n, _ in map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x == y ? 1 : 0 } }
        case .ne: return { p, _, n, _ in map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x != y ? 1 : 0 } }
        case .lt: return { p, _, n, _ in map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x < y ? 1 : 0 } }
        case .le: return { p, _, n, _ in map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x <= y ? 1 : 0 } }
        case .gt: return { p, _, n, _ in map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x > y ? 1 : 0 } }
        case .ge: return { p, _, n, _ in map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x >= y ? 1 : 0 } }
        }
    }

    private static func convert(from source: Lane.Element, to type: DType, _ o: Int, _ a: Int) -> LaneStep {
        switch (source, type) {
        // Truncation toward zero, saturating where the float does not fit (NaN → 0).
        case (.f32, .i32):
            return { p, _, n, _ in
                map1(p, o, a, n) { (v: Float) -> Int32 in v.isNaN ? 0 : (v >= 2_147_483_648 ? .max : (v <= -2_147_483_648 ? .min : Int32(v))) }
            }
        case (.i32, .f32), (.truth, .f32): return { p, _, n, _ in map1(p, o, a, n) { (v: Int32) -> Float in Float(v) } }
        case (.f32, .f32), (.i32, .i32), (.truth, .i32): return { p, _, n, _ in map1(p, o, a, n) { (v: UInt32) -> UInt32 in v } }
        }
    }
}

@inline(__always)
private func map1<A, R>(_ p: LaneSlots, _ o: Int, _ a: Int, _ n: Int, _ f: (A) -> R) {
    let po = p[o].assumingMemoryBound(to: R.self), pa = p[a].assumingMemoryBound(to: A.self)
    for i in 0..<n { po[i] = f(pa[i]) }
}

@inline(__always)
private func map2<A, R>(_ p: LaneSlots, _ o: Int, _ a: Int, _ b: Int, _ n: Int, _ f: (A, A) -> R) {
    let po = p[o].assumingMemoryBound(to: R.self), pa = p[a].assumingMemoryBound(to: A.self), pb = p[b].assumingMemoryBound(to: A.self)
    for i in 0..<n { po[i] = f(pa[i], pb[i]) }
}

