import KilnIR

/// Residual networks for the zoo (`Graphs/resnet_small.kiln` is `resnetSmall()` printed).
extension Models {
    /// A small residual network for 28×28 grey images, cheap enough to train on two cores:
    /// a 3×3 stem convolution with batch norm and ReLU, then one residual stage per entry of
    /// `widths` (each `blocks` basic blocks: conv 3×3, batch norm, ReLU, conv 3×3, batch norm,
    /// plus the shortcut, ReLU). Every stage after the first starts with a strided block
    /// (stride 2 halves the image; a 1×1 strided convolution with batch norm projects the
    /// shortcut), so 28×28 → 14×14 → 7×7 for three stages. Global average pooling over the last
    /// maps feeds a dense 10-way classifier. Convolutions have no bias: batch norm's shift
    /// replaces it. Params are named `stemconv.weight`, `s1b1a_bn.weight`, `fc.weight`, …
    public static func resnetSmall(batch: Int = 128, widths: [Int] = [24, 48, 96], blocks: Int = 1) throws -> Graph {
        guard batch >= 1, blocks >= 1, !widths.isEmpty, widths.allSatisfy({ $0 >= 1 }) else {
            throw Diagnostic("resnetSmall: batch (\(batch)) and blocks (\(blocks)) must be at least 1 and widths (\(widths)) non-empty and positive")
        }
        let m = ModelBuilder("resnet_small")
        let x = m.input("x", .f32, [batch, 1, 28, 28])
        let labels = m.input("labels", .i32, [batch])

        /// Convolution (no bias, padding keeps the size at stride 1) then batch norm.
        func convNorm(_ v: Value, _ filters: Int, kernel: Int, stride: Int, _ name: String) -> Value {
            let conv = Conv2D(filters, kernel: kernel, stride: stride, padding: kernel / 2, useBias: false, name: name)
            return BatchNorm(name: "\(name)_bn")(conv(v))
        }
        /// A basic residual block; a projection shortcut when the shape changes.
        func block(_ v: Value, from channels: Int, to filters: Int, stride: Int, _ name: String) -> Value {
            let inner = convNorm(convNorm(v, filters, kernel: 3, stride: stride, "\(name)a").relu(), filters, kernel: 3, stride: 1, "\(name)b")
            let shortcut = stride == 1 && channels == filters ? v : convNorm(v, filters, kernel: 1, stride: stride, "\(name)p")
            return add(inner, shortcut).relu()
        }

        let stemWidth = widths[0]
        var h = convNorm(x, stemWidth, kernel: 3, stride: 1, "stem").relu().named("stem_out")
        var channels = stemWidth
        for (stage, width) in widths.enumerated() {
            for index in 0..<blocks {
                let stride = stage > 0 && index == 0 ? 2 : 1
                h = block(h, from: channels, to: width, stride: stride, "s\(stage + 1)b\(index + 1)").named("s\(stage + 1)b\(index + 1)_out")
                channels = width
            }
        }
        let pooled = h.mean(axes: [2, 3]).named("pooled")
        let logits = Dense(10, name: "fc")(pooled, name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), role: .loss)
        m.output(logits, role: .logits)
        return try m.build()
    }
}
