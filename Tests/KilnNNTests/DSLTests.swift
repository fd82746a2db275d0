import Foundation
import KilnIR
import KilnNN
import Testing

struct DSLTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func twin(_ name: String) throws -> Graph {
        try inferTypes(try Parser.parse(try String(contentsOf: root.appendingPathComponent("Graphs/\(name).kiln"), encoding: .utf8)))
    }

    @Test("the DSL's MLP and LeNet-5 equal their .kiln twins, node for node")
    func twins() throws {
        let mlp = try Models.mlp(), lenet = try Models.lenet5()
        #expect(mlp.text == (try Self.twin("mlp")).text)
        #expect(mlp == (try Self.twin("mlp")))
        #expect(lenet.text == (try Self.twin("lenet5")).text)
        #expect(lenet == (try Self.twin("lenet5")))
    }

    @Test("operators and literals make the same nodes as .kiln text")
    func operators() throws {
        let m = ModelBuilder("ops")
        let x = m.input("x", .f32, [2, 3])
        let w = m.param("w", [3], initializer: .ones)
        let y = ((x * w + 1.5) / 2 - x).sigmoid().named("y")
        let z = (-y).sum(axes: [1], keepDims: true).named("z")
        m.output(y, z)
        let text = """
            graph ops {
              input x: f32[2, 3]
              param w: f32[3] = ones
              y = sigmoid(sub(div(add(mul(x, w), 1.5), 2.0), x))
              z = reduce_sum(neg(y), axes=[1], keep_dims=true)
              output y
              output z
            }
            """
        #expect(try m.build().text == (try inferTypes(try Parser.parse(text))).text)
    }

    @Test("a shape error carries the Swift caller's file and line, the op and both shapes")
    func shapeError() throws {
        let m = ModelBuilder("bad")
        let a = m.input("a", .f32, [128, 256])
        let b = m.input("b", .f32, [10])
        let line = #line + 1
        let c = add(a, b)
        _ = c.relu()                      // after an error: no-op
        _ = a.matmul(b)                   // a second error is not reported
        do {
            _ = try m.build()
            Issue.record("expected an error")
        } catch let d as Diagnostic {
            #expect(d.location == SourceLocation(file: #fileID, line: line, column: 0))
            #expect(d.message == "add: cannot broadcast f32[128, 256] and f32[10]")
            #expect(d.description == "\(#fileID):\(line): error: add: cannot broadcast f32[128, 256] and f32[10]")
        }
    }

    @Test("naming: only fresh temporaries, only free names")
    func naming() throws {
        let m = ModelBuilder("n")
        let x = m.input("x", .f32, [2])
        _ = x.named("y")
        #expect(throws: Diagnostic.self) { try m.build() }
        let m2 = ModelBuilder("n2")
        let x2 = m2.input("x", .f32, [2])
        _ = x2.exp().named("x")
        #expect(throws: Diagnostic.self) { try m2.build() }
    }

    @Test("every DSL method makes its op with its attributes")
    func methods() throws {
        let m = ModelBuilder("all")
        let x = m.input("x", .f32, [2, 4, 4, 3])
        let i = m.input("i", .i32, [2])
        let t = m.param("t", [5, 3])
        let outs: [Value] = [
            x.transpose([0, 3, 1, 2]), x.reshape([2, -1]), x.mean(axes: [1, 2]), x.max(axes: [3], keepDims: true),
            x.softmax(axis: 3), x.logSoftmax(), x.slice(begin: [0, 0, 0, 0], end: [1, 2, 2, 3]), x.pad(before: [0, 1, 0, 0], after: [0, 0, 0, 0]),
            x.argmax(axis: 3), i.oneHot(depth: 4), x.leakyRelu(alpha: 0.2), x.elu(), x.dropout(rate: 0.5, seed: 4),
            gather(t, i), concat([x, x], axis: 0), maxPool2d(x.transpose([0, 3, 1, 2]), window: [2, 2]),
            m.randomNormal(shape: [3], std: 0.5, seed: 1), x.broadcast(to: [5, 2, 4, 4, 3]), x.cast(.i32),
        ]
        m.output(outs[0])
        let g = try m.build()
        let ops = g.nodes.map(\.op.name)
        for expected in ["transpose", "reshape", "reduce_mean", "reduce_max", "softmax", "log_softmax", "slice", "pad", "argmax",
                         "one_hot", "leaky_relu", "elu", "dropout", "gather", "concat", "max_pool2d", "random_normal", "broadcast_to", "cast"] {
            #expect(ops.contains(expected), "\(expected)")
        }
        #expect(outs.allSatisfy { $0.type != nil })
        #expect(g.node(named: outs[12].name)?.attributes["seed"] == .int(4))
    }
}
