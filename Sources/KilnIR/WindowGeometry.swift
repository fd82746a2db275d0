/// Geometry of a sliding window over NCHW data (pooling windows, convolution filters): the
/// interpreter's kernels and the code generator's lowerings read it from the same definition.
public struct WindowGeometry: Sendable {
    public let n, c, h, w: Int
    public let kh, kw: Int
    public let sh, sw: Int
    public let ph, pw: Int
    public let oh, ow: Int

    public init(input: Shape, window: [Int], stride: [Int], padding: [Int], output: Shape) {
        (n, c, h, w) = (input[0], input[1], input[2], input[3])
        (kh, kw) = (window[0], window[1])
        (sh, sw) = (stride[0], stride[1])
        (ph, pw) = (padding[0], padding[1])
        (oh, ow) = (output[2], output[3])
    }

    /// Output positions per plane.
    public var spatial: Int { oh * ow }
    /// Taps per filter: channels × window.
    public var patch: Int { c * kh * kw }
}

extension Attributes {
    /// A convolution's `groups` (1 when absent: graphs built before the attribute existed).
    public var convolutionGroups: Int {
        self["groups"] == nil ? 1 : int("groups")
    }
}
