import KilnIR
import Testing

/// The one elementwise definition against the op table: every op whose fusion role is
/// elementwise, and the standalone ops computed element by element (sources, casts, random
/// draws), has a definition; no other op has one. Read through an algebra that writes the
/// definition as text, which also pins a few definitions down.
struct ElementwiseMeaningTests {
    /// The scalar algebra as prefix text: `choose(test(le, x0, 0.0), 0.0, x0)`.
    struct Text: ScalarAlgebra, CustomStringConvertible {
        typealias Position = String
        let description: String
        init(_ text: String) { description = text }

        static func f32(_ value: Float) -> Text { Text("\(value)") }
        static func i32(_ value: Int32) -> Text { Text("\(value)i") }
        static func apply(_ function: ScalarFunction, _ x: Text) -> Text { Text("\(function)(\(x))") }
        static func combine(_ operation: ScalarOperation, _ a: Text, _ b: Text) -> Text { Text("\(operation)(\(a), \(b))") }
        static func test(_ c: ScalarComparison, _ a: Text, _ b: Text) -> Text { Text("test(\(c), \(a), \(b))") }
        static func both(_ a: Text, _ b: Text) -> Text { Text("both(\(a), \(b))") }
        static func either(_ a: Text, _ b: Text) -> Text { Text("either(\(a), \(b))") }
        static func choose(_ condition: Text, _ a: Text, _ b: Text) -> Text { Text("choose(\(condition), \(a), \(b))") }
        static func convert(_ x: Text, to type: DType) -> Text { Text("convert(\(x), \(type))") }
        static func random(_ draw: RandomDraw, seed: Int, at position: String) -> Text { Text("random(\(draw), \(seed), \(position))") }
        static func coordinate(at position: String, inner: Int, extent: Int, as type: DType) -> Text {
            Text("coordinate(\(position), \(inner), \(extent), \(type))")
        }
    }

    static func meaning(_ op: OpKind, _ types: [DType] = [.f32, .f32, .f32]) -> String? {
        let node = Node(name: "y", op: op, operands: [], type: TensorType(.f32, [2, 3]))
        return ElementwiseMeaning.value(of: node, [Text("x0"), Text("x1"), Text("x2")], types: types, at: "i")?.description
    }

    @Test("an op has a definition exactly when it is computed element by element", arguments: OpKind.allCases)
    func definedForElementwiseOps(_ op: OpKind) {
        let elementByElement = op.fusionRole == .elementwise || op.category == .source || op.category == .elementwise
        #expect((Self.meaning(op) != nil) == elementByElement, "\(op.name): fusion role \(op.fusionRole), category \(op.category)")
    }

    @Test("relu keeps NaN (NaN ≤ 0 is false); i32 division guards zero and Int32.min / −1; dropout draws at the element")
    func definitions() {
        #expect(Self.meaning(.relu) == "choose(test(le, x0, 0.0), 0.0, x0)")
        #expect(Self.meaning(.max) == "maxNaN(x0, x1)")
        let div = Self.meaning(.div, [.i32, .i32]) ?? ""
        #expect(div.hasPrefix("choose(test(eq, x1, 0i), 0i, choose(both(test(eq, x0, -2147483648i), test(eq, x1, -1i)), -2147483648i, div(x0, "))
        #expect(Self.meaning(.dropout)?.contains("random(uniform, 0, i)") == true)
    }
}
