import KilnIR

/// What one element of an elementwise op costs, in scalar operations, read off its one
/// definition (`ElementwiseMeaning`) by evaluating it in an algebra that counts: a kernel's
/// `work` decides whether it runs on every core, and a sigmoid (an exponential and a
/// division, ~20 vector instructions) is not one addition. Weights are rough instruction
/// counts of the loop-IR forms the JIT renders (`MathLibrary`'s polynomial exp, log, tanh).
struct ElementwiseCost: ScalarAlgebra {
    typealias Position = Void
    var operations: Int

    /// The cost of one element of `node`; 1 for an op without an elementwise meaning.
    static func perElement(_ node: Node, types: [DType]) -> Int {
        let operands = [ElementwiseCost](repeating: ElementwiseCost(operations: 0), count: node.operands.count)
        return Swift.max(1, ElementwiseMeaning.value(of: node, operands, types: types, at: ())?.operations ?? 1)
    }

    /// A kernel computing `nodes` for every element of `shape`: elements times their summed cost.
    static func work(_ nodes: [Node], elements: Int, types: [String: TensorType]) -> Int {
        let cost = nodes.reduce(0) { total, node in
            total + perElement(node, types: node.operands.map { types[$0]?.dtype ?? .f32 })
        }
        return elements.multipliedReportingOverflow(by: Swift.max(1, cost)).partialValue
    }

    static func f32(_ value: Float) -> ElementwiseCost { ElementwiseCost(operations: 0) }
    static func i32(_ value: Int32) -> ElementwiseCost { ElementwiseCost(operations: 0) }

    static func apply(_ function: ScalarFunction, _ x: ElementwiseCost) -> ElementwiseCost {
        let cost: Int
        switch function {
        case .neg, .abs: cost = 1
        case .sqrt: cost = 4
        case .exp, .expm1, .log, .log1p, .tanh, .sigmoid: cost = 16
        }
        return ElementwiseCost(operations: x.operations + cost)
    }

    static func combine(_ operation: ScalarOperation, _ a: ElementwiseCost, _ b: ElementwiseCost) -> ElementwiseCost {
        let cost: Int
        switch operation {
        case .add, .sub, .mul, .maxNaN, .minNaN: cost = 1
        case .div: cost = 4
        case .pow: cost = 32
        }
        return ElementwiseCost(operations: a.operations + b.operations + cost)
    }

    static func test(_ c: ScalarComparison, _ a: ElementwiseCost, _ b: ElementwiseCost) -> ElementwiseCost {
        ElementwiseCost(operations: a.operations + b.operations + 1)
    }

    static func both(_ a: ElementwiseCost, _ b: ElementwiseCost) -> ElementwiseCost { ElementwiseCost(operations: a.operations + b.operations + 1) }
    static func either(_ a: ElementwiseCost, _ b: ElementwiseCost) -> ElementwiseCost { ElementwiseCost(operations: a.operations + b.operations + 1) }

    static func choose(_ condition: ElementwiseCost, _ a: ElementwiseCost, _ b: ElementwiseCost) -> ElementwiseCost {
        ElementwiseCost(operations: condition.operations + a.operations + b.operations + 1)
    }

    static func convert(_ x: ElementwiseCost, to type: DType) -> ElementwiseCost { ElementwiseCost(operations: x.operations + 1) }
    static func random(_ draw: RandomDraw, seed: Int, at position: Void) -> ElementwiseCost { ElementwiseCost(operations: 16) }
    static func coordinate(at position: Void, inner: Int, extent: Int, as type: DType) -> ElementwiseCost { ElementwiseCost(operations: 2) }
}
