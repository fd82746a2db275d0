/// The operations an elementwise op's meaning is written in (`ElementwiseMeaning`), one
/// protocol so that each op is defined once and every backend evaluates that definition: the
/// code generator instantiates it with loop-IR expressions (rendered by the JIT), the
/// interpreter with chunks of elements it runs as tight loops.
///
/// Values are f32, i32 or truth values (the results of `compare`, `and`, `or`, consumed by
/// `select`); an operation's result has its operands' type. Integer arithmetic wraps; the
/// definitions guard integer division themselves, so `div` is only reached with a divisor
/// that is neither 0 nor −1 against Int32.min.
public protocol ScalarAlgebra {
    /// Where an element sits, as the algebra knows it (a loop index expression, or nothing
    /// for an evaluator that walks elements itself): random draws and coordinates read it.
    associatedtype Position

    /// An f32 constant.
    static func f32(_ value: Float) -> Self
    /// An i32 constant.
    static func i32(_ value: Int32) -> Self
    /// A one-operand function of `x`.
    static func apply(_ function: ScalarFunction, _ x: Self) -> Self
    /// A two-operand operation on values of one type.
    static func combine(_ operation: ScalarOperation, _ a: Self, _ b: Self) -> Self
    /// The truth value of `a c b`: ordered for floats except `ne` (true for NaN, like Swift's `!=`).
    static func test(_ c: ScalarComparison, _ a: Self, _ b: Self) -> Self
    /// Logical and of two truth values.
    static func both(_ a: Self, _ b: Self) -> Self
    /// Logical or of two truth values.
    static func either(_ a: Self, _ b: Self) -> Self
    /// `condition ? a : b`, with a truth-valued condition.
    static func choose(_ condition: Self, _ a: Self, _ b: Self) -> Self
    /// f32 ↔ i32: truncation toward zero, saturating, NaN → 0 (`Int32(saturating:)`); the same type: the value.
    static func convert(_ x: Self, to type: DType) -> Self
    /// The counter-based draw (`KilnRandom`: uniform in [0, 1) or standard normal) of the
    /// stream (seed, the step being run) at the element's flat index.
    static func random(_ draw: RandomDraw, seed: Int, at position: Position) -> Self
    /// The element's coordinate along an axis, (flat index / inner) mod extent, as `type`.
    static func coordinate(at position: Position, inner: Int, extent: Int, as type: DType) -> Self
}

/// One-operand functions of the algebra (floats only, but `neg` and `abs`, which wrap on i32).
public enum ScalarFunction: Sendable, Hashable, CaseIterable {
    case neg, abs, exp, expm1, log, log1p, sqrt, tanh
    /// 1 / (1 + e^(−x)), never exponentiating a large positive number.
    case sigmoid
}

/// Two-operand operations of one type. `maxNaN`/`minNaN` propagate NaN.
public enum ScalarOperation: Sendable, Hashable, CaseIterable {
    case add, sub, mul, div, maxNaN, minNaN, pow
}

/// Comparisons, giving truth values: signed for i32.
public enum ScalarComparison: Sendable, Hashable, CaseIterable {
    case eq, ne, lt, le, gt, ge
}

/// The counter-based random numbers every backend shares.
public enum RandomDraw: Sendable, Hashable, CaseIterable {
    case uniform, normal
}
