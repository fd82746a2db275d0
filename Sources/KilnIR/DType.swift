/// Element type of a tensor. Kiln computes in float32; int32 carries labels and indices.
public enum DType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case f32
    case i32

    /// Bytes per element.
    public var byteSize: Int { 4 }

    public var description: String { rawValue }
}
