import KilnIR
import KilnPasses
import Testing

/// `GraphSummary`: layers, shapes, params by kind, FLOPs counted by hand, planned memory.
struct GraphSummaryTests {
    static let text = """
        graph small {
          input x: f32[2, 1, 6, 6]
          input labels: i32[2]
          param conv1.weight: f32[4, 1, 3, 3] = he_normal
          param bn1.weight: f32[1, 4, 1, 1] = ones
          state bn1.running_mean: f32[1, 4, 1, 1] = zeros
          param dense1.weight: f32[16, 3] = glorot_uniform
          param dense1.bias: f32[3] = zeros
          c = conv2d(x, conv1.weight)
          bm = reduce_mean(c, axes=[0, 2, 3], keep_dims=true)
          n = mul(sub(c, if_training(bm, bn1.running_mean)), bn1.weight)
          p = max_pool2d(relu(n), window=[2, 2])
          logits = add(matmul(reshape(p, shape=[2, 16]), dense1.weight), dense1.bias)
          loss = softmax_cross_entropy(logits, labels)
          output loss as loss
          output logits as logits
          new_mean = add(mul(bn1.running_mean, 0.9), mul(bm, 0.1))
          update bn1.running_mean = new_mean
        }
        """

    @Test("the table: one row per layer, named by param prefix; FLOPs per example as counted by hand")
    func table() throws {
        let s = try GraphSummary(try Parser.parse(Self.text), frozen: ["conv1.weight"], optimizer: try .parse("adam"))
        #expect(s.rows.map(\.layer) == ["conv1 + bn1", "max_pool2d", "reshape", "dense1"])
        #expect(s.rows.map { $0.outputShape?.description ?? "" } == ["f32[2, 4, 4, 4]", "f32[2, 4, 2, 2]", "f32[2, 16]", "f32[2, 3]"])
        // conv: 2·64 outputs·9 taps = 1152; then broadcast (0), sub, mul, relu: 64 each.
        // pool: 16 outputs × 4. dense: 2·16·3 = 96, bias 3, softmax 3.
        #expect(s.rows.map(\.flops) == [1152 + 3 * 64, 64, 0, 96 + 3 + 3])
        #expect((s.trainable, s.frozen, s.state) == (4 + 48 + 3, 36, 4))
        #expect(s.parameterBytes == 4 * (36 + 4 + 4 + 48 + 3))
        #expect(s.inferenceArena > 0 && (s.trainingArena ?? 0) > s.inferenceArena)
        #expect(s.text == """
            graph small (batch 2)
            layer        output shape     trainable  frozen  state  FLOPs/example
            ───────────  ───────────────  ─────────  ──────  ─────  ─────────────
            conv1 + bn1  f32[2, 4, 4, 4]          4      36      4          1,344
            max_pool2d   f32[2, 4, 2, 2]          0       0      0             64
            reshape      f32[2, 16]               0       0      0              0
            dense1       f32[2, 3]               51       0      0            102
            ───────────  ───────────────  ─────────  ──────  ─────  ─────────────
            total                                55      36      4          1,510
            params and state: 380 B; planned inference step: arena \(formatBytes(s.inferenceArena)) at batch 2
            planned training step: arena \(formatBytes(s.trainingArena ?? 0)), params and optimiser state \(formatBytes(s.trainingStateBytes ?? 0))

            """)
    }

    @Test("a graph whose only output is its loss is summarised from its evaluation graph; no optimiser, no training plan")
    func lossOnly() throws {
        let s = try GraphSummary(try Parser.parse("graph r {\n input x: f32[4, 2]\n input y: f32[4, 1]\n param w: f32[2, 1] = zeros\n loss = mse(matmul(x, w), y)\n output loss as loss\n}\n"))
        #expect(s.rows.map(\.layer) == ["matmul", "mse"])
        #expect(s.trainingArena == nil)
        #expect(s.flops == 4 + 1)
    }
}
