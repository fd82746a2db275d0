import KilnIR
import KilnNN
import KilnRuntime
import Testing

/// The output shape of `layer` applied to an f32 input of `dims` (nil after an error).
func outputShape(_ layer: some Layer, _ dims: [Int], dtype: DType = .f32) -> [Int]? {
    let m = ModelBuilder("shape")
    let y = layer(m.input("x", dtype, dims))
    return m.firstError == nil ? y.shape : nil
}

/// Dense, Maxout, LayerNorm, Embedding, Dropout and Flatten: shapes, gradients, values.
struct LayerTests {
    @Test("Dense maps the last axis, for inputs of rank 2, 3 and 4")
    func denseShapes() {
        #expect(outputShape(Dense(4), [3, 5]) == [3, 4])
        #expect(outputShape(Dense(4), [2, 3, 5]) == [2, 3, 4])
        #expect(outputShape(Dense(4, activation: .relu), [2, 2, 3, 5]) == [2, 2, 3, 4])
        #expect(outputShape(Dense(4), [5]) == nil)
    }

    @Test("Dense: weight [in, units], bias [units], inferred from the input")
    func denseParams() throws {
        let m = ModelBuilder("p")
        let dense = Dense(4)
        _ = dense(m.input("x", .f32, [3, 5]))
        let graph = try m.build()
        #expect(graph.param(named: "dense1.weight")?.type == TensorType(.f32, Shape([5, 4])))
        #expect(graph.param(named: "dense1.weight")?.initializer == .glorotUniform)
        #expect(graph.param(named: "dense1.bias")?.type == TensorType(.f32, Shape([4])))
        #expect(dense.weight?.name == "dense1.weight" && dense.name == "dense1")
        let noBias = ModelBuilder("nb")
        _ = Dense(2, useBias: false)(noBias.input("x", .f32, [1, 3]))
        #expect(try noBias.build().params.map(\.name) == ["dense1.weight"])
    }

    @Test("Dense gradients, rank 2 and a rank-4 input flattened around the matmul")
    func denseGradient() throws {
        try LayerGradient.check("dense") { m in Dense(4, activation: .tanh)(LayerGradient.input(m, [3, 5])) }
        try LayerGradient.check("dense rank 4") { m in Dense(3)(LayerGradient.input(m, [2, 2, 1, 4])) }
    }

    @Test("Maxout: [batch, units], the maximum of its pieces")
    func maxout() throws {
        #expect(outputShape(Maxout(3, pieces: 2), [4, 5]) == [4, 3])
        try LayerGradient.check("maxout") { m in Maxout(3, pieces: 3)(LayerGradient.input(m, [4, 5])) }
        let m = ModelBuilder("mx")
        let layer = Maxout(2, pieces: 2)
        let y = layer(m.input("x", .f32, [1, 1]))
        m.output(y)
        let graph = try m.build()
        #expect(graph.param(named: "maxout1.weight")?.type == TensorType(.f32, Shape([1, 4])))
        // weight [[1, 2, -1, 3]], bias 0: pieces (x, 2x) and (-x, 3x); at x = -2: max(-2, 2), max(-4, -6).
        let out = try evaluate(graph, inputs: ["x": Tensor([1, 1], floats: [-2])],
                               state: ["maxout1.weight": Tensor([1, 4], floats: [1, 2, -1, 3])])
        #expect(out[y.name]?.floats == [2, -4])
    }

    @Test("LayerNorm: same shape, zero mean and unit variance per row before scale and shift")
    func layerNorm() throws {
        #expect(outputShape(LayerNorm(), [2, 3, 6]) == [2, 3, 6])
        try LayerGradient.check("layer norm") { m in LayerNorm()(LayerGradient.input(m, [2, 6])) }
        let m = ModelBuilder("ln")
        let y = LayerNorm(epsilon: 0)(m.input("x", .f32, [2, 4]))
        m.output(y)
        let graph = try m.build()
        #expect(graph.param(named: "layernorm1.weight")?.initializer == .ones)
        let out = try #require(try evaluate(graph, inputs: ["x": Tensor([2, 4], floats: [1, 2, 3, 4, -1, 0, 5, 8])])[y.name]).floats
        for row in 0..<2 {
            let values = out[(row * 4)..<(row * 4 + 4)]
            let mean = values.reduce(0, +) / 4
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            #expect(Swift.abs(mean) < 1e-5 && Swift.abs(variance - 1) < 1e-4)
        }
    }

    @Test("Embedding: i32 indices of any shape become rows of the table")
    func embedding() throws {
        #expect(outputShape(Embedding(vocabulary: 7, dimension: 3), [2, 4], dtype: .i32) == [2, 4, 3])
        #expect(outputShape(Embedding(vocabulary: 7, dimension: 3), [5], dtype: .i32) == [5, 3])
        #expect(outputShape(Embedding(vocabulary: 7, dimension: 3), [5]) == nil)     // f32 indices
        let indices = Tensor([2, 3], ints: [0, 6, 2, 2, 5, 1])
        try LayerGradient.check("embedding", inputs: ["i": indices]) { m in
            Embedding(vocabulary: 7, dimension: 3)(m.input("i", .i32, [2, 3]))
        }
        let m = ModelBuilder("e")
        let table = Embedding(vocabulary: 4, dimension: 2)
        let y = table(m.input("i", .i32, [3]))
        m.output(y)
        let weights = Tensor([4, 2], floats: [0, 1, 10, 11, 20, 21, 30, 31])
        let out = try evaluate(try m.build(), inputs: ["i": Tensor([3], ints: [3, 0, 3])], state: ["embedding1.weight": weights])
        #expect(out[y.name]?.floats == [30, 31, 0, 1, 30, 31])
    }

    @Test("Dropout: same shape, the dropout op with a seed per layer (1, 2, … unless given)")
    func dropout() throws {
        #expect(outputShape(Dropout(0.5), [3, 4]) == [3, 4])
        let m = ModelBuilder("d")
        let x = m.input("x", .f32, [3, 4])
        let first = Dropout(0.5), second = Dropout(0.25), fixed = Dropout(0.1, seed: 42)
        let a = first(x), b = second(x), c = fixed(x), again = first(x)
        m.output(a, b, c, again)
        let graph = try m.build()
        let seeds = [a, b, c, again].map { graph.node(named: $0.name)?.attributes["seed"] }
        #expect(seeds == [.int(1), .int(2), .int(42), .int(1)])
        #expect(graph.node(named: b.name)?.attributes["rate"] == .float(0.25))
        try LayerGradient.check("dropout") { m in Dropout(0.3)(LayerGradient.input(m, [3, 4])) }
    }

    @Test("Flatten keeps the first axis and multiplies the others, written out in full")
    func flatten() throws {
        #expect(outputShape(Flatten(), [2, 3, 4, 5]) == [2, 60])
        #expect(outputShape(Flatten(), [7]) == [7, 1])
        try LayerGradient.check("flatten") { m in Dense(2)(Flatten()(LayerGradient.input(m, [2, 2, 3]))) }
    }
}
