import KilnIR
import KilnNN
import KilnRuntime
import Testing

/// `Sequential` and its result builder.
struct SequentialTests {
    @Test("a LeNet-style stack: shapes flow through, each layer names its params")
    func lenet() throws {
        let m = ModelBuilder("seq")
        let net = Sequential {
            Conv2D(6, kernel: 5, padding: 2, activation: .relu)
            MaxPool2D(2)
            Conv2D(16, kernel: 5, activation: .relu)
            MaxPool2D(2)
            Flatten()
            Dense(120, activation: .relu)
            Dense(84, activation: .relu)
            Dense(10)
        }
        let logits = net(m.input("x", .f32, [4, 1, 28, 28]), name: "logits")
        #expect(logits.shape == [4, 10])
        m.output(logits)
        let graph = try m.build()
        #expect(graph.params.map(\.name) == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "dense1.weight", "dense1.bias",
                                             "dense2.weight", "dense2.bias", "dense3.weight", "dense3.bias"])
        #expect(graph.param(named: "dense1.weight")?.type.shape.dims == [400, 120])
        #expect(net.layers.count == 8)
    }

    @Test("if, if/else, for loops, arrays and bare activations in the builder")
    func controlFlow() throws {
        func stack(dropout: Bool, widths: [Int], wide: Bool) -> Sequential {
            Sequential {
                for width in widths { Dense(width) }
                Activation.relu
                if dropout { Dropout(0.5) }
                if wide { Dense(8) } else { Dense(2) }
                [Flatten(), Flatten()] as [any Layer]
            }
        }
        let a = stack(dropout: true, widths: [5, 6, 7], wide: true)
        #expect(a.layers.count == 8)
        #expect(stack(dropout: false, widths: [], wide: false).layers.count == 4)
        let m = ModelBuilder("cf")
        let y = a(m.input("x", .f32, [3, 4]))
        #expect(y.shape == [3, 8])
        m.output(y)
        let ops = try m.build().nodes.map(\.op.name)
        #expect(ops.filter { $0 == "matmul" }.count == 4 && ops.contains("relu") && ops.contains("dropout"))
    }

    @Test("applying a Sequential twice shares its params; nested Sequentials work")
    func sharing() throws {
        let m = ModelBuilder("share")
        let inner = Sequential { Dense(3, activation: .tanh); Dense(3) }
        let outer = Sequential { inner; Activation.sigmoid; inner }
        let a = outer(m.input("a", .f32, [2, 3])), b = outer(m.input("b", .f32, [2, 3]))
        m.output(a, b)
        #expect(try m.build().params.map(\.name) == ["dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias"])
    }

    @Test("a Sequential's gradient matches finite differences")
    func gradient() throws {
        try LayerGradient.check("sequential") { m in
            Sequential {
                Conv2D(2, kernel: 3, padding: 1, activation: .tanh)
                AvgPool2D(2)
                Flatten()
                Dense(3, activation: .sigmoid)
                Lambda { $0 * $0 }
            }(LayerGradient.input(m, [2, 1, 4, 4]))
        }
    }

    /// A user-defined layer: `x + f(x)`, built from other layers; it only implements `forward`.
    final class Residual: Layer {
        let body: Sequential
        init(width: Int) { body = Sequential { Dense(width, activation: .relu); Dense(width) } }
        func forward(_ x: Value, at site: CallSite) -> Value { add(x, body.forward(x, at: site), file: site.file, line: site.line) }
    }

    @Test("a custom layer implements forward(_:at:) and gets callAsFunction, naming and Sequential for free")
    func customLayer() throws {
        let m = ModelBuilder("custom")
        let net = Sequential { Residual(width: 4); Residual(width: 4) }
        let y = net(m.input("x", .f32, [2, 4]), name: "y")
        #expect(y.name == "y" && y.shape == [2, 4])
        m.output(y)
        #expect(try m.build().params.count == 8)
        try LayerGradient.check("residual") { m in Residual(width: 3)(LayerGradient.input(m, [2, 3])) }
    }
}
