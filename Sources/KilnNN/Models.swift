import KilnIR

/// Reference models built with the DSL; each prints exactly like its `Graphs/` twin, so the
/// params keep their short names (`w1`, `c1`, …) rather than the automatic `dense1.weight`.
public enum Models {
    /// Graphs/mlp.kiln: 784-256-128-10, ReLU, softmax cross-entropy.
    public static func mlp(batch: Int = 128) throws -> Graph {
        let m = ModelBuilder("mlp")
        let x = m.input("x", .f32, [batch, 784])
        let labels = m.input("labels", .i32, [batch])
        let layer1 = Dense(256, activation: .relu, weight: "w1", bias: "b1")
        let layer2 = Dense(128, activation: .relu, weight: "w2", bias: "b2")
        let layer3 = Dense(10, weight: "w3", bias: "b3")
        let h1 = layer1(x, name: "h1")
        let h2 = layer2(h1, name: "h2")
        let logits = layer3(h2, name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), role: .loss)
        m.output(logits, role: .logits)
        return try m.build()
    }

    /// Graphs/lenet5.kiln: two convolutions with pooling, three dense layers. With `dropout`,
    /// the two hidden dense layers are followed by dropout (Graphs/lenet5_dropout.kiln).
    public static func lenet5(batch: Int = 64, dropout: Double? = nil) throws -> Graph {
        let m = ModelBuilder(dropout == nil ? "lenet5" : "lenet5_dropout")
        let x = m.input("x", .f32, [batch, 1, 28, 28])
        let labels = m.input("labels", .i32, [batch])
        let conv1 = Conv2D(6, kernel: 5, padding: 2, activation: .relu, weight: "c1", bias: "cb1")
        let conv2 = Conv2D(16, kernel: 5, activation: .relu, weight: "c2", bias: "cb2")
        let dense3 = Dense(120, activation: .relu, weight: "w3", bias: "b3")
        let dense4 = Dense(84, activation: .relu, weight: "w4", bias: "b4")
        let dense5 = Dense(10, weight: "w5", bias: "b5")
        let pool = MaxPool2D(2)
        let pool1 = pool(conv1(x, name: "conv1"), name: "pool1")
        let pool2 = pool(conv2(pool1, name: "conv2"), name: "pool2")
        let flat = Flatten()(pool2, name: "flat")
        func regularised(_ v: Value, _ name: String, seed: Int) -> Value {
            guard let rate = dropout else { return v.named(name) }
            return Dropout(rate, seed: seed)(v, name: name)
        }
        let h3 = regularised(dense3(flat), "h3", seed: 1)
        let h4 = regularised(dense4(h3), "h4", seed: 2)
        let logits = dense5(h4, name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), role: .loss)
        m.output(logits, role: .logits)
        return try m.build()
    }
}
