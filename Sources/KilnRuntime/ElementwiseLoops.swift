import KilnIR
import KilnTensor
#if canImport(Glibc)
import Glibc
#endif

/// Pointers to the chunks a program's lanes hold, indexed by slot.
typealias LaneSlots = UnsafeMutablePointer<UnsafeMutableRawPointer>

/// One primitive over one chunk, as plain data: which primitive, and the slots it reads and
/// writes. Not a closure: a program runs its steps by switching over them inside its loop over
/// chunks, so running a chunk touches no reference count (calling a closure per chunk retained
/// and released its context, 6–9% of an interpreted MLP step).
enum LaneStep {
    case function(ScalarFunction, isFloat: Bool, o: Int, a: Int)
    case operation(ScalarOperation, isFloat: Bool, o: Int, a: Int, b: Int)
    case test(ScalarComparison, isFloat: Bool, o: Int, a: Int, b: Int)
    case both(o: Int, a: Int, b: Int)
    case either(o: Int, a: Int, b: Int)
    /// `c ? a : b` on 32-bit words (the same loop for f32 and i32 lanes).
    case choose(o: Int, c: Int, a: Int, b: Int)
    case convert(from: Lane.Element, to: DType, o: Int, a: Int)
    case random(RandomDraw, seed: Int, o: Int)
    case coordinate(inner: Int, extent: Int, isFloat: Bool, o: Int)
    /// A choice on a comparison, in one loop (`ElementwiseChoice`).
    case select(ElementwiseChoice)
    /// The result is an operand or a constant (stop_gradient, broadcast_to, constant).
    case copy(o: Int, a: Int)
}

/// The primitives of the scalar algebra as loops over a chunk: the interpreter's meaning of
/// each `ScalarFunction`, `ScalarOperation` and comparison, each a tight loop the optimiser
/// vectorises where it can. These are the only per-element Swift the interpreter's
/// elementwise ops run; what each op computes from them is `ElementwiseMeaning`.
enum ElementwiseLoops {
    /// The step computing `lane` into slot `o` from its inputs' slots `s`; nil for operands and constants.
    static func step(_ lane: Lane, into o: Int, from s: [Int]) -> LaneStep? {
        let isFloat = lane.inputs.first?.element == .f32
        switch lane.kind {
        case .operand, .float, .int: return nil
        case .function(let f, _): return .function(f, isFloat: isFloat, o: o, a: s[0])
        case .operation(let op, _, _): return .operation(op, isFloat: isFloat, o: o, a: s[0], b: s[1])
        case .test(let c, _, _): return .test(c, isFloat: isFloat, o: o, a: s[0], b: s[1])
        case .both: return .both(o: o, a: s[0], b: s[1])
        case .either: return .either(o: o, a: s[0], b: s[1])
        case .choose: return .choose(o: o, c: s[0], a: s[1], b: s[2])
        case .convert(let x, let type): return .convert(from: x.element, to: type, o: o, a: s[0])
        case .random(let draw, let seed): return .random(draw, seed: seed, o: o)
        case .coordinate(let inner, let extent): return .coordinate(inner: inner, extent: extent, isFloat: lane.element == .f32, o: o)
        }
    }

    /// Runs `step` over the `n` elements of the chunk starting at flat index `start`, drawing
    /// random numbers of run step `runStep`.
    static func run(_ step: LaneStep, _ p: LaneSlots, start: Int, count n: Int, runStep: Int) {
        switch step {
        case .function(let f, let isFloat, let o, let a):
            if isFloat { function(f, p, o, a, n) } else { intFunction(f, p, o, a, n) }
        case .operation(let op, let isFloat, let o, let a, let b):
            if isFloat { operation(op, p, o, a, b, n) } else { intOperation(op, p, o, a, b, n) }
        case .test(let c, let isFloat, let o, let a, let b):
            if isFloat { test(c, p, o, a, b, n, Float.self) } else { test(c, p, o, a, b, n, Int32.self) }
        case .both(let o, let a, let b): map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in x & y }
        case .either(let o, let a, let b): map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in x | y }
        case .choose(let o, let c, let a, let b):
            let po = p[o].assumingMemoryBound(to: UInt32.self), pc = p[c].assumingMemoryBound(to: Int32.self)
            let pa = p[a].assumingMemoryBound(to: UInt32.self), pb = p[b].assumingMemoryBound(to: UInt32.self)
            // Both loads before the choice: a select the optimiser vectorises, not a branch.
            for i in 0..<n {
                let x = pa[i], y = pb[i]
                po[i] = pc[i] != 0 ? x : y
            }
        case .convert(let source, let type, let o, let a): convert(from: source, to: type, p, o, a, n)
        case .random(let draw, let seed, let o):
            // The stream of (seed, step), drawn at the flat index: KilnRandom, which the JIT's
            // rendering of the loop IR's `random` reproduces in LLVM IR.
            let key = KilnRandom.key(seed: UInt64(bitPattern: Int64(seed)), step: UInt64(bitPattern: Int64(runStep)))
            let po = p[o].assumingMemoryBound(to: Float.self)
            switch draw {
            case .uniform: for i in 0..<n { po[i] = KilnRandom.uniform(key: key, index: UInt64(start + i)) }
            case .normal: for i in 0..<n { po[i] = KilnRandom.normal(key: key, index: UInt64(start + i)) }
            }
        case .coordinate(let inner, let extent, let isFloat, let o):
            // The shape rules keep an i32 coordinate within Int32.
            if isFloat {
                let po = p[o].assumingMemoryBound(to: Float.self)
                for i in 0..<n { po[i] = Float(((start + i) / inner) % extent) }
            } else {
                let po = p[o].assumingMemoryBound(to: Int32.self)
                for i in 0..<n { po[i] = Int32(truncatingIfNeeded: ((start + i) / inner) % extent) }
            }
        case .select(let choice): choice.run(p, n)
        case .copy(let o, let a): p[o].copyMemory(from: p[a], byteCount: n * 4)
        }
    }

    private static func function(_ f: ScalarFunction, _ p: LaneSlots, _ o: Int, _ a: Int, _ n: Int) {
        switch f {
        case .neg: map1(p, o, a, n) { (v: Float) -> Float in -v }
        case .abs: map1(p, o, a, n) { (v: Float) -> Float in Swift.abs(v) }
        case .exp: map1(p, o, a, n) { (v: Float) -> Float in expf(v) }
        case .expm1: map1(p, o, a, n) { (v: Float) -> Float in expm1f(v) }
        case .log: map1(p, o, a, n) { (v: Float) -> Float in logf(v) }
        case .log1p: map1(p, o, a, n) { (v: Float) -> Float in log1pf(v) }
        case .sqrt: map1(p, o, a, n) { (v: Float) -> Float in v.squareRoot() }
        case .tanh: map1(p, o, a, n) { (v: Float) -> Float in tanhf(v) }
        case .sigmoid:
            // Stable for large |x|: never exponentiate a large positive number.
            map1(p, o, a, n) { (v: Float) -> Float in
                if v >= 0 { return 1 / (1 + expf(-v)) }
                let e = expf(v)
                return e / (1 + e)
            }
        }
    }

    /// i32 functions wrap; the float-only ones are rejected by the shape rules before a kernel
    /// runs, and pass the value through rather than trap.
    private static func intFunction(_ f: ScalarFunction, _ p: LaneSlots, _ o: Int, _ a: Int, _ n: Int) {
        switch f {
        case .neg: map1(p, o, a, n) { (v: Int32) -> Int32 in 0 &- v }
        case .abs: map1(p, o, a, n) { (v: Int32) -> Int32 in v == .min ? v : Swift.abs(v) }
        case .exp, .expm1, .log, .log1p, .sqrt, .tanh, .sigmoid: map1(p, o, a, n) { (v: Int32) -> Int32 in v }
        }
    }

    private static func operation(_ op: ScalarOperation, _ p: LaneSlots, _ o: Int, _ a: Int, _ b: Int, _ n: Int) {
        switch op {
        case .add: map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x + y }
        case .sub: map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x - y }
        case .mul: map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x * y }
        case .div: map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x / y }
        case .maxNaN: map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x.isNaN || y.isNaN ? .nan : Swift.max(x, y) }
        case .minNaN: map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in x.isNaN || y.isNaN ? .nan : Swift.min(x, y) }
        case .pow: map2(p, o, a, b, n) { (x: Float, y: Float) -> Float in powf(x, y) }
        }
    }

    /// i32 arithmetic wraps like C; division is total (by zero: 0, Int32.min / −1: Int32.min),
    /// though the definitions already guard both.
    private static func intOperation(_ op: ScalarOperation, _ p: LaneSlots, _ o: Int, _ a: Int, _ b: Int, _ n: Int) {
        switch op {
        case .add: map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in x &+ y }
        case .sub: map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in x &- y }
        case .mul: map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in x &* y }
        case .div: map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in y == 0 ? 0 : x.dividedReportingOverflow(by: y).partialValue }
        case .maxNaN: map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in Swift.max(x, y) }
        case .minNaN: map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in Swift.min(x, y) }
        // f32 only (the shape rules); computed through f32 rather than trap.
        case .pow: map2(p, o, a, b, n) { (x: Int32, y: Int32) -> Int32 in Int32(saturating: Double(powf(Float(x), Float(y)))) }
        }
    }

    private static func test<T: Comparable>(_ c: ScalarComparison, _ p: LaneSlots, _ o: Int, _ a: Int, _ b: Int, _ n: Int, _: T.Type) {
        switch c {
        case .eq: map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x == y ? 1 : 0 }
        case .ne: map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x != y ? 1 : 0 }
        case .lt: map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x < y ? 1 : 0 }
        case .le: map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x <= y ? 1 : 0 }
        case .gt: map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x > y ? 1 : 0 }
        case .ge: map2(p, o, a, b, n) { (x: T, y: T) -> Int32 in x >= y ? 1 : 0 }
        }
    }

    private static func convert(from source: Lane.Element, to type: DType, _ p: LaneSlots, _ o: Int, _ a: Int, _ n: Int) {
        switch (source, type) {
        // Truncation toward zero, saturating where the float does not fit (NaN → 0).
        case (.f32, .i32):
            map1(p, o, a, n) { (v: Float) -> Int32 in v.isNaN ? 0 : (v >= 2_147_483_648 ? .max : (v <= -2_147_483_648 ? .min : Int32(v))) }
        case (.i32, .f32), (.truth, .f32): map1(p, o, a, n) { (v: Int32) -> Float in Float(v) }
        case (.f32, .f32), (.i32, .i32), (.truth, .i32): map1(p, o, a, n) { (v: UInt32) -> UInt32 in v }
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
