import KilnTensor
import Testing

struct TensorTests {
    @Test("float elements read as int32 never trap: NaN is 0, out-of-range values saturate")
    func intsOfSpecialFloats() {
        let t = Tensor([6], floats: [.nan, .infinity, -.infinity, 3e10, -3e10, -2.7])
        #expect(t.ints == [0, .max, .min, .max, .min, -2])
    }
}
