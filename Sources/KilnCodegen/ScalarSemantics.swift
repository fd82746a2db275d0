import KilnIR

/// The code generator's instance of the one elementwise meaning (`KilnIR.ElementwiseMeaning`):
/// each op's definition, evaluated over loop-IR expressions, is the expression a kernel binds
/// for one element. The interpreter evaluates the same definitions over element chunks.
public enum ScalarSemantics {
    /// Where the element sits: random ops draw from the stream at `flatIndex`.
    public struct Element {
        public var flatIndex: Expr
        public init(flatIndex: Expr) { self.flatIndex = flatIndex }
    }

    /// The value of elementwise `node` from its operands' values (`x`, in operand order) of
    /// element types `types`; nil for ops that are not elementwise.
    public static func value(of node: Node, _ x: [Expr], types: [ScalarType], at element: Element) -> Expr? {
        // Only f32 is a float here: an i64 or i1 operand takes the integer definitions, as an i32 does.
        ElementwiseMeaning.value(of: node, x, types: types.map { $0 == .f32 ? DType.f32 : .i32 }, at: element)
    }
}

/// Loop-IR expressions as the scalar algebra: each operation is the loop-IR node of the same
/// meaning, so an op's kernel is its definition written out.
extension Expr: ScalarAlgebra {
    public typealias Position = ScalarSemantics.Element

    public static func apply(_ function: ScalarFunction, _ x: Expr) -> Expr {
        switch function {
        case .neg: return .unary(.neg, x)
        case .abs: return .unary(.abs, x)
        case .exp: return .unary(.exp, x)
        case .expm1: return .unary(.expm1, x)
        case .log: return .unary(.log, x)
        case .log1p: return .unary(.log1p, x)
        case .sqrt: return .unary(.sqrt, x)
        case .tanh: return .unary(.tanh, x)
        case .sigmoid: return .unary(.sigmoid, x)
        }
    }

    public static func combine(_ operation: ScalarOperation, _ a: Expr, _ b: Expr) -> Expr {
        switch operation {
        case .add: return .binary(.add, a, b)
        case .sub: return .binary(.sub, a, b)
        case .mul: return .binary(.mul, a, b)
        case .div: return .binary(.div, a, b)
        case .maxNaN: return .binary(.maxNaN, a, b)
        case .minNaN: return .binary(.minNaN, a, b)
        case .pow: return .binary(.pow, a, b)
        }
    }

    public static func test(_ c: ScalarComparison, _ a: Expr, _ b: Expr) -> Expr {
        switch c {
        case .eq: return .compare(.eq, a, b)
        case .ne: return .compare(.ne, a, b)
        case .lt: return .compare(.lt, a, b)
        case .le: return .compare(.le, a, b)
        case .gt: return .compare(.gt, a, b)
        case .ge: return .compare(.ge, a, b)
        }
    }

    public static func both(_ a: Expr, _ b: Expr) -> Expr { a.and(b) }
    public static func either(_ a: Expr, _ b: Expr) -> Expr { a.or(b) }
    public static func choose(_ condition: Expr, _ a: Expr, _ b: Expr) -> Expr { .select(condition, a, b) }
    public static func convert(_ x: Expr, to type: DType) -> Expr { .convert(x, ScalarType(type)) }

    public static func random(_ draw: RandomDraw, seed: Int, at position: ScalarSemantics.Element) -> Expr {
        switch draw {
        case .uniform: return .random(.uniform, seed: seed, index: position.flatIndex)
        case .normal: return .random(.normal, seed: seed, index: position.flatIndex)
        }
    }

    public static func coordinate(at position: ScalarSemantics.Element, inner: Int, extent: Int, as type: DType) -> Expr {
        .convert(position.flatIndex.div(inner).rem(extent), ScalarType(type))
    }
}
