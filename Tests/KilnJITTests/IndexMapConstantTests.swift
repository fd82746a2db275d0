import KilnIR
import KilnPasses
import Testing

/// A pad (or any index map) of a constant inside a fused kernel loads the constant's own
/// buffer. Found by the ONNX conformance run (Pad with a non-zero value builds its border mask
/// by padding a constant of ones): the kernel read its first operand's buffer instead.
struct IndexMapConstantTests {
    @Test func padOfAConstantReadsTheConstant() throws {
        let text = """
        graph padded_constant {
          input x: f32[1, 1, 2, 3]
          a = pad(x, before=[0, 0, 1, 1], after=[0, 0, 1, 1])
          ones = constant(value=1.0, shape=[1, 1, 2, 3])
          inside = pad(ones, before=[0, 0, 1, 1], after=[0, 0, 1, 1])
          border = sub(1.0, inside)
          y = add(a, mul(border, 2.0))
          output y
        }
        """
        try BackendEquivalenceTests.compare(try ShapeInference().run(try Parser.parse(text)), "pad of a constant")
    }
}
