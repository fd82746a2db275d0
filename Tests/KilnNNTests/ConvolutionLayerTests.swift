import KilnIR
import KilnNN
import KilnRuntime
import Testing

/// Conv2D, MaxPool2D, AvgPool2D over NCHW input: shapes (square and rectangular kernels,
/// stride, padding), params, gradients, values.
struct ConvolutionLayerTests {
    @Test("Conv2D: square and rectangular kernels, stride and padding")
    func convShapes() {
        #expect(outputShape(Conv2D(6, kernel: 5, padding: 2), [2, 1, 28, 28]) == [2, 6, 28, 28])
        #expect(outputShape(Conv2D(4, kernel: 3, stride: 2), [1, 3, 9, 9]) == [1, 4, 4, 4])
        // H: (7 + 2·1 − 3) / 2 + 1 = 4; W: (6 − 2) / 1 + 1 = 5.
        #expect(outputShape(Conv2D(4, kernel: (3, 2), stride: (2, 1), padding: (1, 0)), [2, 3, 7, 6]) == [2, 4, 4, 5])
        #expect(outputShape(Conv2D(4, kernel: 3), [3, 9, 9]) == nil)       // not NCHW
    }

    @Test("Conv2D: filter [filters, channels, kH, kW] (He normal), bias [filters, 1, 1]")
    func convParams() throws {
        let m = ModelBuilder("c")
        _ = Conv2D(4, kernel: (3, 2), activation: .relu)(m.input("x", .f32, [1, 3, 5, 5]))
        let graph = try m.build()
        #expect(graph.param(named: "conv1.weight")?.type == TensorType(.f32, Shape([4, 3, 3, 2])))
        #expect(graph.param(named: "conv1.weight")?.initializer == .heNormal)
        #expect(graph.param(named: "conv1.bias")?.type == TensorType(.f32, Shape([4, 1, 1])))
        #expect(graph.nodes.map(\.op.name) == ["conv2d", "add", "relu"])
    }

    @Test("Conv2D gradients with a rectangular kernel, stride and padding")
    func convGradient() throws {
        try LayerGradient.check("conv2d") { m in
            Conv2D(2, kernel: (3, 2), stride: (2, 1), padding: (1, 0), activation: .tanh)(LayerGradient.input(m, [1, 2, 5, 4]))
        }
    }

    @Test("MaxPool2D and AvgPool2D: square and rectangular windows, stride, padding")
    func poolShapes() {
        #expect(outputShape(MaxPool2D(2), [1, 2, 28, 28]) == [1, 2, 14, 14])
        #expect(outputShape(MaxPool2D((2, 3), stride: (1, 2)), [1, 2, 5, 7]) == [1, 2, 4, 3])
        #expect(outputShape(AvgPool2D(2), [1, 2, 4, 6]) == [1, 2, 2, 3])
        #expect(outputShape(AvgPool2D((3, 2), stride: (1, 1), padding: (1, 0)), [1, 1, 4, 4]) == [1, 1, 4, 3])
        #expect(outputShape(MaxPool2D(3, stride: 1, padding: 1), [1, 1, 4, 4]) == [1, 1, 4, 4])
    }

    @Test("pooling values: the maximum and the mean of each window")
    func poolValues() throws {
        let m = ModelBuilder("p")
        let x = m.input("x", .f32, [1, 1, 2, 4])
        let big = MaxPool2D((2, 2))(x), mean = AvgPool2D((1, 2))(x)
        m.output(big, mean)
        let out = try evaluate(try m.build(), inputs: ["x": Tensor([1, 1, 2, 4], floats: [1, 5, 2, 0, 3, -1, 8, 4])])
        #expect(out[big.name]?.floats == [5, 8])
        #expect(out[mean.name]?.floats == [3, 1, 1, 6])
    }

    @Test("pooling gradients")
    func poolGradient() throws {
        try LayerGradient.check("max pool") { m in MaxPool2D((2, 3), stride: (1, 2))(LayerGradient.input(m, [1, 2, 5, 7])) }
        try LayerGradient.check("avg pool") { m in AvgPool2D((3, 2), stride: (1, 1), padding: (1, 0))(LayerGradient.input(m, [1, 2, 4, 4])) }
    }
}
