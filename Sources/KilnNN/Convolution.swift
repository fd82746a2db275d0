import KilnIR

/// A 2-D convolution over NCHW input: `y = activation(conv2d(x, W) + b)` with
/// W: [filters, channels, kH, kW] (He normal) and b: [filters, 1, 1] (zeros). The input
/// channels are read from the input's shape at the first call.
///
/// ```swift
/// Conv2D(6, kernel: 5, padding: 2, activation: .relu)     // square kernel
/// Conv2D(8, kernel: (3, 5), stride: (1, 2))               // rectangular kernel and stride
/// Conv2D(32, kernel: 3, padding: 1, groups: 32)           // depthwise (32 input channels)
/// ```
/// With `groups` > 1 the input channels and filters split into that many independent
/// convolutions (ResNeXt's grouped, MobileNet's depthwise convolutions); W is then
/// [filters, channels / groups, kH, kW].
public final class Conv2D: Layer {
    /// The number of output channels.
    public let filters: Int
    /// Kernel height and width.
    public let kernel: (height: Int, width: Int)
    /// Step between windows, vertically and horizontally.
    public let stride: (height: Int, width: Int)
    /// Zeros added on each side, vertically and horizontally.
    public let padding: (height: Int, width: Int)
    /// Applied after the convolution and bias.
    public let activation: Activation
    /// Independent channel groups (1: an ordinary convolution; the input channels: depthwise).
    public let groups: Int
    /// Whether the layer adds a bias.
    public let useBias: Bool
    private let weightName: String?, biasName: String?
    private let weightInitializer: Initializer
    private var binding: LayerBinding
    /// The filter [filters, channels, kH, kW], once the layer has been applied.
    public private(set) var weight: Value?
    /// The bias [filters, 1, 1], once the layer has been applied (nil without a bias).
    public private(set) var bias: Value?

    /// A convolution with a rectangular kernel, stride and padding given as (height, width).
    /// `name` replaces the automatic prefix (`conv1`); `weight`/`bias` give full param names.
    public init(_ filters: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                groups: Int = 1, activation: Activation = .none, useBias: Bool = true, weightInitializer: Initializer = .heNormal,
                name: String? = nil, weight: String? = nil, bias: String? = nil,
                file: String = #fileID, line: Int = #line) {
        self.filters = filters
        self.weightInitializer = weightInitializer
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.activation = activation
        self.useBias = useBias
        weightName = weight
        biasName = bias
        binding = LayerBinding(kind: "conv", name: name, declared: CallSite(file: file, line: line))
    }

    /// A convolution with a square kernel, the same stride and padding on both axes.
    public convenience init(_ filters: Int, kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1,
                            activation: Activation = .none, useBias: Bool = true, weightInitializer: Initializer = .heNormal,
                            name: String? = nil, weight: String? = nil, bias: String? = nil,
                            file: String = #fileID, line: Int = #line) {
        self.init(filters, kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding),
                  groups: groups, activation: activation, useBias: useBias, weightInitializer: weightInitializer,
                  name: name, weight: weight, bias: bias, file: file, line: line)
    }

    /// The layer's name prefix (`conv1`, or the one given), once it has been applied.
    public var name: String? { binding.name }

    /// `activation(conv2d(x, W) + b)`.
    public func forward(_ x: Value, at site: CallSite) -> Value {
        guard let dims = binding.prepare(x, rank: 4, exactly: true, for: "Conv2D (NCHW)", at: site) else { return x.model.poisoned }
        return binding.within {
            if weight == nil {
                guard groups >= 1, dims[1] % groups == 0, filters % groups == 0 else {
                    return x.model.fail("Conv2D groups \(groups) must divide its \(dims[1]) input channels and \(filters) filters",
                                        file: site.file, line: site.line)
                }
                weight = binding.param("weight", explicit: weightName, [filters, dims[1] / groups, kernel.height, kernel.width], weightInitializer)
                if useBias { bias = binding.param("bias", explicit: biasName, [filters, 1, 1], .zeros) }
            }
            guard let weight else { return x.model.poisoned }
            let (file, line) = (site.file, site.line)
            if weight.shape.count == 4, weight.shape[1] * groups != dims[1] {
                return x.model.fail("Conv2D was built for \(weight.shape[1] * groups) input channels at its first call, got \(dims[1])", file: file, line: line)
            }
            var y = conv2d(x, weight, stride: [stride.height, stride.width], padding: [padding.height, padding.width], groups: groups,
                           file: file, line: line)
            if let bias { y = add(y, bias, file: file, line: line) }
            return activation.apply(y, file: file, line: line)
        }
    }
}
