import KilnIR

/// The interpreter's instance of the scalar algebra (`KilnIR.ScalarAlgebra`): evaluating an
/// op's definition (`ElementwiseMeaning`) over lanes builds the dataflow graph of the
/// primitives it is made of, which `ElementwiseProgram` runs as one tight loop per primitive
/// over chunks of elements. A lane is one node of that graph; lanes are compared by identity,
/// so a value the definition uses twice (`x`, a shared subterm) is computed once per chunk.
final class Lane: ScalarAlgebra {
    /// The interpreter walks the elements itself: a draw or a coordinate reads the chunk's flat indices.
    struct Walk {}
    typealias Position = Walk

    /// What a lane holds; every kind is 4 bytes per element (truth values as Int32 0 or 1).
    enum Element { case f32, i32, truth }

    enum Kind {
        /// The op's operand `k`, read from its tensor (broadcast as the walk requires).
        case operand(Int)
        case float(Float), int(Int32)
        case function(ScalarFunction, Lane)
        case operation(ScalarOperation, Lane, Lane)
        case test(ScalarComparison, Lane, Lane)
        case both(Lane, Lane), either(Lane, Lane)
        case choose(Lane, Lane, Lane)
        case convert(Lane, DType)
        case random(RandomDraw, seed: Int)
        case coordinate(inner: Int, extent: Int)
    }

    let kind: Kind
    let element: Element

    init(_ kind: Kind, _ element: Element) {
        self.kind = kind
        self.element = element
    }

    static func operand(_ k: Int, _ dtype: DType) -> Lane { Lane(.operand(k), Element(dtype)) }

    static func f32(_ value: Float) -> Lane { Lane(.float(value), .f32) }
    static func i32(_ value: Int32) -> Lane { Lane(.int(value), .i32) }
    static func apply(_ function: ScalarFunction, _ x: Lane) -> Lane { Lane(.function(function, x), x.element) }
    static func combine(_ operation: ScalarOperation, _ a: Lane, _ b: Lane) -> Lane { Lane(.operation(operation, a, b), a.element) }
    static func test(_ c: ScalarComparison, _ a: Lane, _ b: Lane) -> Lane { Lane(.test(c, a, b), .truth) }
    static func both(_ a: Lane, _ b: Lane) -> Lane { Lane(.both(a, b), .truth) }
    static func either(_ a: Lane, _ b: Lane) -> Lane { Lane(.either(a, b), .truth) }
    static func choose(_ condition: Lane, _ a: Lane, _ b: Lane) -> Lane { Lane(.choose(condition, a, b), a.element) }
    static func convert(_ x: Lane, to type: DType) -> Lane { Lane(.convert(x, type), Element(type)) }
    static func random(_ draw: RandomDraw, seed: Int, at position: Walk) -> Lane { Lane(.random(draw, seed: seed), .f32) }
    static func coordinate(at position: Walk, inner: Int, extent: Int, as type: DType) -> Lane {
        Lane(.coordinate(inner: inner, extent: extent), Element(type))
    }

    /// A constant's 32-bit pattern (nil for other lanes).
    var constantBits: UInt32? {
        switch kind {
        case .float(let v): return v.bitPattern
        case .int(let v): return UInt32(bitPattern: v)
        case .operand, .function, .operation, .test, .both, .either, .choose, .convert, .random, .coordinate: return nil
        }
    }

    /// The lanes this one reads.
    var inputs: [Lane] {
        switch kind {
        case .operand, .float, .int, .random, .coordinate: return []
        case .function(_, let x), .convert(let x, _): return [x]
        case .operation(_, let a, let b), .test(_, let a, let b), .both(let a, let b), .either(let a, let b): return [a, b]
        case .choose(let c, let a, let b): return [c, a, b]
        }
    }
}

extension Lane.Element {
    init(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .i32: self = .i32
        }
    }
}
