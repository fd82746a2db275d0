import KilnIR
import KilnNN
import Testing

/// Automatic param names, overrides, and weight sharing.
struct NamingTests {
    @Test("automatic names count per kind, in the order layers are first applied")
    func automatic() throws {
        let m = ModelBuilder("auto")
        let x = m.input("x", .f32, [2, 1, 6, 6])
        let conv = Conv2D(2, kernel: 3), dense1 = Dense(4), norm = LayerNorm(), dense2 = Dense(3)
        let y = dense2(norm(dense1(Flatten()(conv(x)))))
        m.output(y)
        #expect(try m.build().params.map(\.name) == ["conv1.weight", "conv1.bias", "dense1.weight", "dense1.bias",
                                                     "layernorm1.weight", "layernorm1.bias", "dense2.weight", "dense2.bias"])
        #expect([conv.name, dense1.name, norm.name, dense2.name] == ["conv1", "dense1", "layernorm1", "dense2"])
    }

    /// The layer with full param names still takes an automatic prefix (`dense1`, for its
    /// errors); the explicit `dense1` after it does not clash with that, the next automatic
    /// name skips both.
    @Test("name: replaces the prefix; weight:/bias: give full names; automatic names skip taken ones")
    func overrides() throws {
        let m = ModelBuilder("names")
        let x = m.input("x", .f32, [2, 3])
        let encoder = Dense(4, name: "encoder1"), explicit = Dense(4, weight: "w1", bias: "b1")
        let squatter = Dense(4, name: "dense1"), automatic = Dense(4)
        m.output(automatic(squatter(explicit(encoder(x)))))
        #expect(try m.build().params.map(\.name) == ["encoder1.weight", "encoder1.bias", "w1", "b1",
                                                     "dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias"])
    }

    @Test("two layers with the same explicit name are an error at the second one's call")
    func duplicate() throws {
        let m = ModelBuilder("dup")
        let x = m.input("x", .f32, [2, 3])
        let first = Dense(3, name: "block"), second = Dense(3, name: "block")
        _ = first(x)
        let line = #line + 1
        _ = second(x)
        do {
            _ = try m.build()
            Issue.record("expected an error")
        } catch let d as Diagnostic {
            #expect(d.message == "two layers are named 'block'")
            #expect(d.location == SourceLocation(file: #fileID, line: line, column: 0))
        }
    }

    @Test("a layer applied twice reuses its params (a GAN's discriminator on real and fake)")
    func sharing() throws {
        let m = ModelBuilder("gan")
        let discriminator = Sequential { Dense(8, activation: .leakyRelu(0.2)); Dense(1) }
        let generator = Dense(6, activation: .sigmoid, name: "generator")
        let real = discriminator(m.input("x", .f32, [4, 6]))
        let fake = discriminator(generator(m.randomNormal(shape: [4, 3])))
        m.output(real, fake)
        let graph = try m.build()
        #expect(graph.params.map(\.name) == ["dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias",
                                             "generator.weight", "generator.bias"])
        #expect(graph.nodes.filter { $0.op == .matmul && $0.operands.contains("dense1.weight") }.count == 2)
    }

    @Test("a layer bound to one model cannot be applied in another")
    func otherModel() throws {
        let dense = Dense(2)
        let a = ModelBuilder("a"), b = ModelBuilder("b")
        _ = dense(a.input("x", .f32, [1, 2]))
        _ = dense(b.input("x", .f32, [1, 2]))
        #expect(throws: Diagnostic.self) { try b.build() }
        #expect(b.firstError?.message.contains("belongs to another model") == true)
    }
}
