/// Element type of a tensor. Kiln computes in float32; int32 carries labels and indices.
public enum DType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case f32
    case i32

    /// Bytes per element.
    public var byteSize: Int { 4 }

    public var description: String { rawValue }
}

extension Int32 {
    /// Truncation toward zero, saturating where the value does not fit; NaN gives 0
    /// (the meaning of an f32 → i32 `cast` and of an i32 `constant`, on every backend).
    public init(saturating value: Double) {
        if value.isNaN { self = 0 } else if value >= 2_147_483_647 { self = .max } else if value <= -2_147_483_648 { self = .min } else { self = Int32(value) }
    }
}
