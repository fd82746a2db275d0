import KilnIR

/// Layers applied one after another, declared with a result builder:
///
/// ```swift
/// let lenet = Sequential {
///     Conv2D(6, kernel: 5, padding: 2, activation: .relu)
///     MaxPool2D(2)
///     Flatten()
///     if useDropout { Dropout(0.3) }
///     for width in [120, 84] { Dense(width, activation: .relu) }
///     Dense(10)
/// }
/// let logits = lenet(x)
/// ```
///
/// Each layer keeps its own params and names (`conv1.weight`, `dense1.weight`, …); applying
/// the same `Sequential` twice shares them. An ``Activation`` can stand alone as a step.
public final class Sequential: Layer {
    /// The layers, in the order they are applied.
    public let layers: [any Layer]

    /// The layers the builder lists, in order.
    public init(@LayerBuilder _ layers: () -> [any Layer]) { self.layers = layers() }

    /// The layers given, in order.
    public init(_ layers: [any Layer]) { self.layers = layers }

    /// Applies every layer in turn; errors inside a layer point at this call and name the layer.
    public func forward(_ x: Value, at site: CallSite) -> Value {
        layers.reduce(x) { value, layer in layer.forward(value, at: site) }
    }
}

/// The result builder behind ``Sequential``: layers, activations, `if`/`else`, `for` loops and
/// nested arrays of layers.
@resultBuilder
public enum LayerBuilder {
    /// A layer as a one-element list.
    public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
    /// An activation as a layer of its own.
    public static func buildExpression(_ activation: Activation) -> [any Layer] { [ActivationLayer(activation)] }
    /// A list of layers, spliced in.
    public static func buildExpression(_ layers: [any Layer]) -> [any Layer] { layers }
    /// The statements of a block, concatenated.
    public static func buildBlock(_ parts: [any Layer]...) -> [any Layer] { parts.flatMap { $0 } }
    /// An `if` without `else`: its layers, or none.
    public static func buildOptional(_ part: [any Layer]?) -> [any Layer] { part ?? [] }
    /// The `if` branch of an `if`/`else`.
    public static func buildEither(first part: [any Layer]) -> [any Layer] { part }
    /// The `else` branch of an `if`/`else`.
    public static func buildEither(second part: [any Layer]) -> [any Layer] { part }
    /// A `for` loop: every iteration's layers, in order.
    public static func buildArray(_ parts: [[any Layer]]) -> [any Layer] { parts.flatMap { $0 } }
    /// `if #available`: the layers as they are.
    public static func buildLimitedAvailability(_ part: [any Layer]) -> [any Layer] { part }
}
