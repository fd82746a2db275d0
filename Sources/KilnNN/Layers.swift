import KilnIR

/// An activation applied after a layer's affine part.
public enum Activation: Sendable {
    case none, relu, tanh, sigmoid
    case leakyRelu(Double)

    func apply(_ x: Value, file: String, line: Int) -> Value {
        switch self {
        case .none: return x
        case .relu: return x.relu(file: file, line: line)
        case .tanh: return x.tanh(file: file, line: line)
        case .sigmoid: return x.sigmoid(file: file, line: line)
        case .leakyRelu(let alpha): return x.leakyRelu(alpha: alpha, file: file, line: line)
        }
    }
}

/// y = activation(x·W + b), with W: [in, out] (Glorot uniform) and b: [out] (zeros).
public struct Dense {
    public let weight: Value
    public let bias: Value
    public let activation: Activation

    public init(_ model: ModelBuilder, inputs: Int, outputs: Int, weight: String, bias: String,
                activation: Activation = .none, file: String = #fileID, line: Int = #line) {
        self.weight = model.param(weight, [inputs, outputs], initializer: .glorotUniform, file: file, line: line)
        self.bias = model.param(bias, [outputs], initializer: .zeros, file: file, line: line)
        self.activation = activation
    }

    public func callAsFunction(_ x: Value, name: String? = nil, file: String = #fileID, line: Int = #line) -> Value {
        let y = activation.apply(add(x.matmul(weight, file: file, line: line), bias, file: file, line: line), file: file, line: line)
        return name.map { y.named($0, file: file, line: line) } ?? y
    }
}

/// y = activation(conv2d(x, W) + b) over NCHW input, W: [out, in, k, k] (He normal), b: [out, 1, 1].
public struct Conv2D {
    public let weight: Value
    public let bias: Value
    public let stride: [Int]
    public let padding: [Int]
    public let activation: Activation

    public init(_ model: ModelBuilder, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                weight: String, bias: String, activation: Activation = .none, file: String = #fileID, line: Int = #line) {
        self.weight = model.param(weight, [outChannels, inChannels, kernel, kernel], initializer: .heNormal, file: file, line: line)
        self.bias = model.param(bias, [outChannels, 1, 1], initializer: .zeros, file: file, line: line)
        self.stride = [stride, stride]
        self.padding = [padding, padding]
        self.activation = activation
    }

    public func callAsFunction(_ x: Value, name: String? = nil, file: String = #fileID, line: Int = #line) -> Value {
        let z = conv2d(x, weight, stride: stride, padding: padding, file: file, line: line)
        let y = activation.apply(add(z, bias, file: file, line: line), file: file, line: line)
        return name.map { y.named($0, file: file, line: line) } ?? y
    }
}

/// Max pooling with a square window; the stride defaults to the window.
public struct MaxPool2D {
    public let window: Int
    public let stride: Int

    public init(window: Int, stride: Int? = nil) {
        self.window = window
        self.stride = stride ?? window
    }

    public func callAsFunction(_ x: Value, name: String? = nil, file: String = #fileID, line: Int = #line) -> Value {
        let y = maxPool2d(x, window: [window, window], stride: [stride, stride], file: file, line: line)
        return name.map { y.named($0, file: file, line: line) } ?? y
    }
}

/// Reference models built with the DSL; each prints exactly like its `Graphs/` twin.
public enum Models {
    /// Graphs/mlp.kiln: 784-256-128-10, ReLU, softmax cross-entropy.
    public static func mlp(batch: Int = 128) throws -> Graph {
        let m = ModelBuilder("mlp")
        let x = m.input("x", .f32, [batch, 784])
        let labels = m.input("labels", .i32, [batch])
        let layer1 = Dense(m, inputs: 784, outputs: 256, weight: "w1", bias: "b1", activation: .relu)
        let layer2 = Dense(m, inputs: 256, outputs: 128, weight: "w2", bias: "b2", activation: .relu)
        let layer3 = Dense(m, inputs: 128, outputs: 10, weight: "w3", bias: "b3")
        let h1 = layer1(x, name: "h1")
        let h2 = layer2(h1, name: "h2")
        let logits = layer3(h2, name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), logits)
        return try m.build()
    }

    /// Graphs/lenet5.kiln: two convolutions with pooling, three dense layers. With `dropout`,
    /// the two hidden dense layers are followed by dropout (Graphs/lenet5_dropout.kiln).
    public static func lenet5(batch: Int = 64, dropout: Double? = nil) throws -> Graph {
        let m = ModelBuilder(dropout == nil ? "lenet5" : "lenet5_dropout")
        let x = m.input("x", .f32, [batch, 1, 28, 28])
        let labels = m.input("labels", .i32, [batch])
        let conv1 = Conv2D(m, inChannels: 1, outChannels: 6, kernel: 5, padding: 2, weight: "c1", bias: "cb1", activation: .relu)
        let conv2 = Conv2D(m, inChannels: 6, outChannels: 16, kernel: 5, weight: "c2", bias: "cb2", activation: .relu)
        let dense3 = Dense(m, inputs: 400, outputs: 120, weight: "w3", bias: "b3", activation: .relu)
        let dense4 = Dense(m, inputs: 120, outputs: 84, weight: "w4", bias: "b4", activation: .relu)
        let dense5 = Dense(m, inputs: 84, outputs: 10, weight: "w5", bias: "b5")
        let pool = MaxPool2D(window: 2)
        let pool1 = pool(conv1(x, name: "conv1"), name: "pool1")
        let pool2 = pool(conv2(pool1, name: "conv2"), name: "pool2")
        let flat = pool2.reshape([batch, 400]).named("flat")
        func regularised(_ v: Value, _ name: String, seed: Int) -> Value {
            guard let rate = dropout else { return v.named(name) }
            return v.dropout(rate: rate, seed: seed).named(name)
        }
        let h3 = regularised(dense3(flat), "h3", seed: 1)
        let h4 = regularised(dense4(h3), "h4", seed: 2)
        let logits = dense5(h4, name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), logits)
        return try m.build()
    }
}
