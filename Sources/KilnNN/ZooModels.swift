import KilnIR

/// The rest of the model zoo, built with the DSL. `Graphs/NAME.kiln` is each one's printed
/// form (a test keeps them identical); `swift run kiln-zoo`-style regeneration is
/// `Models.all()` printed.
extension Models {
    /// Every zoo model this module builds, by file name.
    public static func all() throws -> [(String, Graph)] {
        [("mlp", try mlp()), ("lenet5", try lenet5()), ("rnn", try rnn()), ("lstm", try lstm()),
         ("autoencoder", try autoencoder()), ("vae", try vae()), ("transformer", try transformer()), ("gan", try gan()),
         ("lenet5_dropout", try lenet5(dropout: 0.3)), ("resnet_small", try resnetSmall()),
         ("rbm_cd1", try RBM(visible: 784, hidden: 128, k: 1).graph()), ("rbm_cd5", try RBM(visible: 784, hidden: 128, k: 5).graph()),
         ("rbm_pcd1", try RBM(visible: 784, hidden: 128, k: 1, persistent: true).graph()),
         ("rbm_pcd5", try RBM(visible: 784, hidden: 128, k: 5, persistent: true).graph())]
    }

    /// Elman RNN over the 28 rows of an image (28 pixels per step), tanh, classify from the last state.
    public static func rnn(batch: Int = 64, hidden: Int = 128) throws -> Graph {
        let m = ModelBuilder("rnn")
        let x = m.input("x", .f32, [batch, 28, 28])
        let labels = m.input("labels", .i32, [batch])
        let rnn = RNN(RNNCell(hidden, recurrentInitializer: .uniform(-0.05, 0.05), weight: "w_in", recurrentWeight: "w_rec", bias: "b_h"))
        let out = Dense(10, weight: "w_out", bias: "b_out")
        let logits = out(rnn(x), name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), role: .loss)
        m.output(logits, role: .logits)
        return try m.build()
    }

    /// LSTM over the 28 rows (gates i, f, g, o as in the standard LSTM), classify from the last state.
    public static func lstm(batch: Int = 64, hidden: Int = 128) throws -> Graph {
        let m = ModelBuilder("lstm")
        let x = m.input("x", .f32, [batch, 28, 28])
        let labels = m.input("labels", .i32, [batch])
        let lstm = RNN(LSTMCell(hidden, weight: "w_gates", recurrentWeight: "u_gates", bias: "b_gates"))
        let out = Dense(10, weight: "w_out", bias: "b_out")
        let logits = out(lstm(x), name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), role: .loss)
        m.output(logits, role: .logits)
        return try m.build()
    }

    /// 784-256-32-256-784 autoencoder with a sigmoid output, MSE reconstruction loss.
    public static func autoencoder(batch: Int = 128) throws -> Graph {
        let m = ModelBuilder("autoencoder")
        let x = m.input("x", .f32, [batch, 784])
        let e1 = Dense(256, activation: .relu, weight: "enc_w1", bias: "enc_b1")
        let e2 = Dense(32, activation: .relu, weight: "enc_w2", bias: "enc_b2")
        let d1 = Dense(256, activation: .relu, weight: "dec_w1", bias: "dec_b1")
        let d2 = Dense(784, activation: .sigmoid, weight: "dec_w2", bias: "dec_b2")
        let code = e2(e1(x), name: "code")
        let reconstruction = d2(d1(code), name: "reconstruction")
        m.output(mse(reconstruction, x).named("loss"), role: .loss)
        m.output(reconstruction, role: .reconstruction)
        return try m.build()
    }

    /// Variational autoencoder: Gaussian encoder (μ, log σ²), z = μ + σ·ε with ε from
    /// `random_normal`, Bernoulli decoder; loss = reconstruction (binary cross-entropy summed over
    /// pixels, averaged over the batch) + KL(q(z|x) ‖ N(0, I)) averaged over the batch.
    public static func vae(batch: Int = 128, latent: Int = 16) throws -> Graph {
        let m = ModelBuilder("vae")
        let x = m.input("x", .f32, [batch, 784])
        let encoder = Dense(256, activation: .relu, weight: "enc_w", bias: "enc_b")
        let toMean = Dense(latent, weight: "mu_w", bias: "mu_b")
        let toLogVar = Dense(latent, weight: "logvar_w", bias: "logvar_b")
        let decoder = Dense(256, activation: .relu, weight: "dec_w1", bias: "dec_b1")
        let output = Dense(784, weight: "dec_w2", bias: "dec_b2")
        let h = encoder(x)
        let mu = toMean(h, name: "mu"), logvar = toLogVar(h, name: "logvar")
        let epsilon = m.randomNormal(shape: [batch, latent], seed: 11)
        let z = add(mu, (logvar * 0.5).exp() * epsilon).named("z")
        let logits = output(decoder(z), name: "logits")
        let reconstruction = (sigmoidCrossEntropy(logits, x) * 784).named("reconstruction")
        let klTerms = 1 + logvar - mu.square() - logvar.exp()
        let kl = (klTerms.sum(axes: [0, 1]) * (-0.5 / Float(batch))).named("kl")
        m.output(add(reconstruction, kl).named("loss"), role: .loss)
        m.output(logits.sigmoid().named("decoded"), role: .reconstruction)
        m.output(reconstruction, kl)
        return try m.build()
    }

    /// A small transformer encoder: 4×4 patches (49 tokens of 16 pixels), learned positions,
    /// one pre-norm block of multi-head self-attention (scaled dot product, softmax) and an MLP,
    /// residuals, layer norm, mean-pooled tokens, linear classifier.
    public static func transformer(batch: Int = 64, width: Int = 64, heads: Int = 4) throws -> Graph {
        let m = ModelBuilder("transformer")
        let tokens = 49
        let x = m.input("x", .f32, [batch, 28, 28])
        let labels = m.input("labels", .i32, [batch])
        let patches = x.reshape([batch, 7, 4, 7, 4]).transpose([0, 1, 3, 2, 4]).reshape([batch, tokens, 16]).named("patches")
        let embed = m.param("embed_w", [16, width])
        let position = m.param("position", [tokens, width], initializer: .normal(mean: 0, std: 0.02))
        let h0 = add(patches.matmul(embed), position).named("embedded")

        func layerNorm(_ v: Value, _ name: String) -> Value { LayerNorm(weight: "\(name)_gamma", bias: "\(name)_beta")(v) }
        let attention = MultiHeadAttention(heads: heads, useBias: false,
                                           names: ["query.weight": "wq", "key.weight": "wk", "value.weight": "wv", "output.weight": "wo"])
        let mixed = attention(layerNorm(h0, "ln1"))
        _ = attention.attentionWeights?.named("attention")
        let h1 = add(h0, mixed).named("attended")
        let n2 = layerNorm(h1, "ln2")
        let expand = Dense(2 * width, activation: .relu, weight: "mlp_w1", bias: "mlp_b1")
        let contract = Dense(width, weight: "mlp_w2", bias: "mlp_b2")
        let h2 = add(h1, contract(expand(n2))).named("encoded")
        let pooled = layerNorm(h2, "ln3").mean(axes: [1]).named("pooled")
        let head = Dense(10, weight: "w_out", bias: "b_out")
        let logits = head(pooled, name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), role: .loss)
        m.output(logits, role: .logits)
        return try m.build()
    }
}
