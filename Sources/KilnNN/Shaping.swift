import KilnIR

/// Window, stride and padding of a pooling layer, as (height, width).
public struct PoolGeometry: Sendable {
    /// Window height and width.
    public var window: (height: Int, width: Int)
    /// Step between windows; defaults to the window (non-overlapping windows).
    public var stride: (height: Int, width: Int)
    /// Padding on each side.
    public var padding: (height: Int, width: Int)

    var attributes: (window: [Int], stride: [Int], padding: [Int]) {
        ([window.height, window.width], [stride.height, stride.width], [padding.height, padding.width])
    }
}

/// A pooling layer: built from a rectangular window, stride and padding, so a square one comes
/// for free (`MaxPool2D(2)`, `AvgPool2D(3, stride: 1, padding: 1)`).
public protocol PoolingLayer: Layer {
    /// Rectangular window, stride (default: the window) and padding, as (height, width).
    init(_ window: (Int, Int), stride: (Int, Int)?, padding: (Int, Int))
}

extension PoolingLayer {
    /// A square window, the same stride (default: the window) and padding on both axes.
    public init(_ window: Int, stride: Int? = nil, padding: Int = 0) {
        self.init((window, window), stride: stride.map { ($0, $0) }, padding: (padding, padding))
    }
}

/// Max pooling over NCHW input (padding counts as −∞): `MaxPool2D(2)` for 2×2 windows with
/// stride 2, `MaxPool2D((2, 3), stride: (1, 1))` for rectangular ones.
public final class MaxPool2D: PoolingLayer {
    /// The window, stride and padding.
    public let geometry: PoolGeometry

    /// Rectangular window, stride (default: the window) and padding, as (height, width).
    public init(_ window: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) {
        geometry = PoolGeometry(window: window, stride: stride ?? window, padding: padding)
    }

    /// The maximum of each window of each channel.
    public func forward(_ x: Value, at site: CallSite) -> Value {
        let g = geometry.attributes
        return maxPool2d(x, window: g.window, stride: g.stride, padding: g.padding, file: site.file, line: site.line)
    }
}

/// Average pooling over NCHW input (dividing by the full window, padding included):
/// `AvgPool2D(2)`, `AvgPool2D((3, 2), stride: (1, 1), padding: (1, 0))`.
public final class AvgPool2D: PoolingLayer {
    /// The window, stride and padding.
    public let geometry: PoolGeometry

    /// Rectangular window, stride (default: the window) and padding, as (height, width).
    public init(_ window: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) {
        geometry = PoolGeometry(window: window, stride: stride ?? window, padding: padding)
    }

    /// The mean of each window of each channel.
    public func forward(_ x: Value, at site: CallSite) -> Value {
        let g = geometry.attributes
        return avgPool2d(x, window: g.window, stride: g.stride, padding: g.padding, file: site.file, line: site.line)
    }
}

/// Flattens every axis after the first: [N, d1, d2, …] → [N, d1·d2·…]. The new shape is
/// written out in full (no −1), as a hand-written `.kiln` reshape would be.
public final class Flatten: Layer {
    /// A flattening layer.
    public init() {}

    /// `reshape(x, [N, product of the other axes])`.
    public func forward(_ x: Value, at site: CallSite) -> Value {
        guard let dims = x.requireShape(rank: 1, for: "Flatten", at: site) else { return x.model.poisoned }
        return x.reshape([dims[0], dims.dropFirst().reduce(1, *)], file: site.file, line: site.line)
    }
}

/// Inverted dropout (the `dropout` op): during training each element is zeroed with
/// probability `rate` and the rest scaled by 1/(1 − rate); evaluation graphs drop the op, so
/// the layer is the identity there.
public final class Dropout: Layer {
    /// The probability of zeroing an element, in [0, 1).
    public let rate: Double
    /// The random stream's seed; nil takes the model's next (1, 2, … in order of first use).
    public private(set) var seed: Int?

    /// A dropout layer; give `seed` to fix the mask's stream, else each layer gets its own.
    public init(_ rate: Double, seed: Int? = nil) {
        self.rate = rate
        self.seed = seed
    }

    /// `dropout(x, rate, seed)`; the same layer applied twice draws the same mask.
    public func forward(_ x: Value, at site: CallSite) -> Value {
        let s = seed ?? x.model.nextDropoutSeed()
        seed = s
        return x.dropout(rate: rate, seed: s, file: site.file, line: site.line)
    }
}

/// A function as a layer, for a step of a ``Sequential`` that is no layer:
/// `Lambda { $0.reshape([64, 1, 28, 28]) }`.
public final class Lambda: Layer {
    private let body: (Value) -> Value

    /// A layer computing `body(x)`; ops without `file:`/`line:` arguments point at `body`.
    public init(_ body: @escaping (Value) -> Value) { self.body = body }

    /// `body(x)`.
    public func forward(_ x: Value, at site: CallSite) -> Value { body(x) }
}
