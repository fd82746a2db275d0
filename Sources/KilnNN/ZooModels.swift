import KilnIR

/// The rest of the model zoo, built with the DSL. `Graphs/NAME.kiln` is each one's printed
/// form (a test keeps them identical); `swift run kiln-zoo`-style regeneration is
/// `Models.all()` printed.
extension Models {
    /// Every zoo model this module builds, by file name.
    public static func all() throws -> [(String, Graph)] {
        [("mlp", try mlp()), ("lenet5", try lenet5()), ("rnn", try rnn()), ("lstm", try lstm()),
         ("autoencoder", try autoencoder()), ("vae", try vae()), ("transformer", try transformer()), ("gan", try gan()),
         ("lenet5_dropout", try lenet5(dropout: 0.3))]
    }

    /// Row t of a [batch, time, features] sequence as a [batch, features] matrix.
    static func step(_ x: Value, _ t: Int, batch: Int, features: Int) -> Value {
        x.slice(begin: [0, t, 0], end: [batch, t + 1, features]).reshape([batch, features])
    }

    /// Elman RNN over the 28 rows of an image (28 pixels per step), tanh, classify from the last state.
    public static func rnn(batch: Int = 64, hidden: Int = 128) throws -> Graph {
        let m = ModelBuilder("rnn")
        let x = m.input("x", .f32, [batch, 28, 28])
        let labels = m.input("labels", .i32, [batch])
        let w = m.param("w_in", [28, hidden]), u = m.param("w_rec", [hidden, hidden], initializer: .uniform(-0.05, 0.05))
        let b = m.param("b_h", [hidden], initializer: .zeros)
        var h = add(step(x, 0, batch: batch, features: 28).matmul(w), b).tanh()
        for t in 1..<28 {
            h = add(add(step(x, t, batch: batch, features: 28).matmul(w), h.matmul(u)), b).tanh()
        }
        let out = Dense(m, inputs: hidden, outputs: 10, weight: "w_out", bias: "b_out")
        let logits = out(h, name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), logits)
        return try m.build()
    }

    /// LSTM over the 28 rows (gates i, f, g, o as in the standard LSTM), classify from the last state.
    public static func lstm(batch: Int = 64, hidden: Int = 128) throws -> Graph {
        let m = ModelBuilder("lstm")
        let x = m.input("x", .f32, [batch, 28, 28])
        let labels = m.input("labels", .i32, [batch])
        let w = m.param("w_gates", [28, 4 * hidden]), u = m.param("u_gates", [hidden, 4 * hidden])
        let b = m.param("b_gates", [4 * hidden], initializer: .zeros)
        func gate(_ z: Value, _ k: Int) -> Value { z.slice(begin: [0, k * hidden], end: [batch, (k + 1) * hidden]) }
        var h: Value?, c: Value?
        for t in 0..<28 {
            var z = step(x, t, batch: batch, features: 28).matmul(w)
            if let h { z = add(z, h.matmul(u)) }
            z = add(z, b)
            let i = gate(z, 0).sigmoid(), f = gate(z, 1).sigmoid(), g = gate(z, 2).tanh(), o = gate(z, 3).sigmoid()
            let candidate = i * g
            let cell = c.map { f * $0 + candidate } ?? candidate
            c = cell
            h = o * cell.tanh()
        }
        let out = Dense(m, inputs: hidden, outputs: 10, weight: "w_out", bias: "b_out")
        let logits = out(h ?? x, name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), logits)
        return try m.build()
    }

    /// 784-256-32-256-784 autoencoder with a sigmoid output, MSE reconstruction loss.
    public static func autoencoder(batch: Int = 128) throws -> Graph {
        let m = ModelBuilder("autoencoder")
        let x = m.input("x", .f32, [batch, 784])
        let e1 = Dense(m, inputs: 784, outputs: 256, weight: "enc_w1", bias: "enc_b1", activation: .relu)
        let e2 = Dense(m, inputs: 256, outputs: 32, weight: "enc_w2", bias: "enc_b2", activation: .relu)
        let d1 = Dense(m, inputs: 32, outputs: 256, weight: "dec_w1", bias: "dec_b1", activation: .relu)
        let d2 = Dense(m, inputs: 256, outputs: 784, weight: "dec_w2", bias: "dec_b2", activation: .sigmoid)
        let code = e2(e1(x), name: "code")
        let reconstruction = d2(d1(code), name: "reconstruction")
        m.output(mse(reconstruction, x).named("loss"), reconstruction)
        return try m.build()
    }

    /// Variational autoencoder: Gaussian encoder (μ, log σ²), z = μ + σ·ε with ε from
    /// `random_normal`, Bernoulli decoder; loss = reconstruction (binary cross-entropy summed over
    /// pixels, averaged over the batch) + KL(q(z|x) ‖ N(0, I)) averaged over the batch.
    public static func vae(batch: Int = 128, latent: Int = 16) throws -> Graph {
        let m = ModelBuilder("vae")
        let x = m.input("x", .f32, [batch, 784])
        let encoder = Dense(m, inputs: 784, outputs: 256, weight: "enc_w", bias: "enc_b", activation: .relu)
        let toMean = Dense(m, inputs: 256, outputs: latent, weight: "mu_w", bias: "mu_b")
        let toLogVar = Dense(m, inputs: 256, outputs: latent, weight: "logvar_w", bias: "logvar_b")
        let decoder = Dense(m, inputs: latent, outputs: 256, weight: "dec_w1", bias: "dec_b1", activation: .relu)
        let output = Dense(m, inputs: 256, outputs: 784, weight: "dec_w2", bias: "dec_b2")
        let h = encoder(x)
        let mu = toMean(h, name: "mu"), logvar = toLogVar(h, name: "logvar")
        let epsilon = m.randomNormal(shape: [batch, latent], seed: 11)
        let z = add(mu, (logvar * 0.5).exp() * epsilon).named("z")
        let logits = output(decoder(z), name: "logits")
        let reconstruction = (sigmoidCrossEntropy(logits, x) * 784).named("reconstruction")
        let klTerms = 1 + logvar - mu.square() - logvar.exp()
        let kl = (klTerms.sum(axes: [0, 1]) * (-0.5 / Float(batch))).named("kl")
        m.output(add(reconstruction, kl).named("loss"), logits.sigmoid().named("decoded"), reconstruction, kl)
        return try m.build()
    }

    /// A small transformer encoder: 4×4 patches (49 tokens of 16 pixels), learned positions,
    /// one pre-norm block of multi-head self-attention (scaled dot product, softmax) and an MLP,
    /// residuals, layer norm, mean-pooled tokens, linear classifier.
    public static func transformer(batch: Int = 64, width: Int = 64, heads: Int = 4) throws -> Graph {
        let m = ModelBuilder("transformer")
        let tokens = 49, headWidth = width / heads
        let x = m.input("x", .f32, [batch, 28, 28])
        let labels = m.input("labels", .i32, [batch])
        let patches = x.reshape([batch, 7, 4, 7, 4]).transpose([0, 1, 3, 2, 4]).reshape([batch, tokens, 16]).named("patches")
        let embed = m.param("embed_w", [16, width])
        let position = m.param("position", [tokens, width], initializer: .normal(mean: 0, std: 0.02))
        let h0 = add(patches.matmul(embed), position).named("embedded")

        func layerNorm(_ v: Value, _ name: String) -> Value {
            let gamma = m.param("\(name)_gamma", [width], initializer: .ones), beta = m.param("\(name)_beta", [width], initializer: .zeros)
            let centered = v - v.mean(axes: [2], keepDims: true)
            let variance = centered.square().mean(axes: [2], keepDims: true)
            return add(centered * (variance + 1e-5).rsqrt() * gamma, beta)
        }
        func splitHeads(_ v: Value) -> Value {
            v.reshape([batch, tokens, heads, headWidth]).transpose([0, 2, 1, 3]).reshape([batch * heads, tokens, headWidth])
        }
        let n1 = layerNorm(h0, "ln1")
        let q = splitHeads(n1.matmul(m.param("wq", [width, width])))
        let k = splitHeads(n1.matmul(m.param("wk", [width, width])))
        let v = splitHeads(n1.matmul(m.param("wv", [width, width])))
        let scores = (q.matmul(k, transposeB: true) * (1 / Float(headWidth).squareRoot())).softmax(axis: 2).named("attention")
        let mixed = scores.matmul(v).reshape([batch, heads, tokens, headWidth]).transpose([0, 2, 1, 3]).reshape([batch, tokens, width])
        let h1 = add(h0, mixed.matmul(m.param("wo", [width, width]))).named("attended")
        let n2 = layerNorm(h1, "ln2")
        let hidden = add(n2.matmul(m.param("mlp_w1", [width, 2 * width])), m.param("mlp_b1", [2 * width], initializer: .zeros)).relu()
        let h2 = add(h1, add(hidden.matmul(m.param("mlp_w2", [2 * width, width])), m.param("mlp_b2", [width], initializer: .zeros))).named("encoded")
        let pooled = layerNorm(h2, "ln3").mean(axes: [1]).named("pooled")
        let head = Dense(m, inputs: width, outputs: 10, weight: "w_out", bias: "b_out")
        let logits = head(pooled, name: "logits")
        m.output(softmaxCrossEntropy(logits, labels).named("loss"), logits)
        return try m.build()
    }
}
