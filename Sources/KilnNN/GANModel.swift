import KilnIR

extension Models {
    /// A GAN on Fashion-MNIST: an MLP generator (noise → 256 → 784, sigmoid) and an MLP
    /// discriminator (784 → 256 → 1 logit, leaky ReLU) in one graph with two losses,
    /// `d_loss` (real → 1, fake → 0) and `g_loss` (fake → 1). `GANTrainer` builds one training
    /// step per loss, each updating only its half of the params.
    public static func gan(batch: Int = 64, noise: Int = 64) throws -> Graph {
        let m = ModelBuilder("gan")
        let real = m.input("x", .f32, [batch, 784])
        let g1 = Dense(256, activation: .relu, weight: "gen_w1", bias: "gen_b1")
        let g2 = Dense(784, activation: .sigmoid, weight: "gen_w2", bias: "gen_b2")
        let d1 = Dense(256, activation: .leakyRelu(0.2), weight: "disc_w1", bias: "disc_b1")
        let d2 = Dense(1, weight: "disc_w2", bias: "disc_b2")
        let z = m.randomNormal(shape: [batch, noise], seed: 21)
        let fake = g2(g1(z), name: "fake")
        let realLogits = d2(d1(real), name: "real_logits")
        let fakeLogits = d2(d1(fake), name: "fake_logits")
        let ones = m.constant(1).broadcast(to: [batch, 1]), zeros = m.constant(0).broadcast(to: [batch, 1])
        let dLoss = add(sigmoidCrossEntropy(realLogits, ones), sigmoidCrossEntropy(fakeLogits, zeros)).named("d_loss")
        let gLoss = sigmoidCrossEntropy(fakeLogits, ones).named("g_loss")
        m.output(dLoss, gLoss)
        m.output(fake, role: .sample)
        return try m.build()
    }
}
