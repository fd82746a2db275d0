"""Reference implementations for `make bench`: the same models as Kiln's Graphs/, float32, in
JAX (jax.jit of value_and_grad plus the same optimiser update) and hand-written NumPy
(forward and backward by hand, OpenBLAS underneath)."""
import numpy as np

F32 = np.float32


def glorot(rng, shape):
    fan_in, fan_out = (shape[0], shape[1]) if len(shape) == 2 else (shape[1] * shape[2] * shape[3], shape[0] * shape[2] * shape[3])
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(F32)


def mlp_params(rng):
    return [glorot(rng, (784, 256)), np.zeros(256, F32), glorot(rng, (256, 128)), np.zeros(128, F32), glorot(rng, (128, 10)), np.zeros(10, F32)]


def lenet_params(rng):
    return [glorot(rng, (6, 1, 5, 5)), np.zeros((6, 1, 1), F32), glorot(rng, (16, 6, 5, 5)), np.zeros((16, 1, 1), F32),
            glorot(rng, (400, 120)), np.zeros(120, F32), glorot(rng, (120, 84)), np.zeros(84, F32), glorot(rng, (84, 10)), np.zeros(10, F32)]


def lstm_params(rng, hidden=128):
    return [glorot(rng, (28, 4 * hidden)), glorot(rng, (hidden, 4 * hidden)), np.zeros(4 * hidden, F32), glorot(rng, (hidden, 10)), np.zeros(10, F32)]


def transformer_params(rng, width=64):
    ones, zeros = np.ones(width, F32), np.zeros(width, F32)
    return [glorot(rng, (16, width)), (0.02 * rng.standard_normal((49, width))).astype(F32), ones, zeros,
            glorot(rng, (width, width)), glorot(rng, (width, width)), glorot(rng, (width, width)), glorot(rng, (width, width)),
            ones.copy(), zeros.copy(), glorot(rng, (width, 2 * width)), np.zeros(2 * width, F32), glorot(rng, (2 * width, width)),
            zeros.copy(), ones.copy(), zeros.copy(), glorot(rng, (width, 10)), np.zeros(10, F32)]


def resnet18_params(rng):
    """Benchmarks/resnet18_cifar.kiln's params, in its order: per convolution W (He normal) and
    b [C, 1, 1]; then the classifier."""
    def conv(cin, cout, k):
        return [(rng.standard_normal((cout, cin, k, k)) * np.sqrt(2.0 / (cin * k * k))).astype(F32), np.zeros((cout, 1, 1), F32)]
    p = conv(3, 64, 3)
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512], start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            p += conv(cin, cout, 3) + conv(cout, cout, 3)
            if stride != 1 or cin != cout:
                p += conv(cin, cout, 1)
            cin = cout
    return p + [glorot(rng, (512, 10)), np.zeros(10, F32)]


# ---------------------------------------------------------------- JAX
def jax_models():
    import jax
    import jax.numpy as jnp

    def sce(logits, labels):
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1))

    def mlp(p, x):
        h = jax.nn.relu(x @ p[0] + p[1])
        h = jax.nn.relu(h @ p[2] + p[3])
        return h @ p[4] + p[5]

    def lenet(p, x):
        dn = ("NCHW", "OIHW", "NCHW")
        c = jax.lax.conv_general_dilated(x, p[0], (1, 1), [(2, 2), (2, 2)], dimension_numbers=dn)
        c = jax.nn.relu(c + p[1])
        c = jax.lax.reduce_window(c, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        c = jax.lax.conv_general_dilated(c, p[2], (1, 1), [(0, 0), (0, 0)], dimension_numbers=dn)
        c = jax.nn.relu(c + p[3])
        c = jax.lax.reduce_window(c, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        h = c.reshape(c.shape[0], 400)
        h = jax.nn.relu(h @ p[4] + p[5])
        h = jax.nn.relu(h @ p[6] + p[7])
        return h @ p[8] + p[9]

    def lstm(p, x):
        hidden = p[1].shape[0]
        h = jnp.zeros((x.shape[0], hidden), jnp.float32)
        c = jnp.zeros_like(h)
        for t in range(28):
            z = x[:, t, :] @ p[0] + h @ p[1] + p[2]
            i, f, g, o = (jax.nn.sigmoid(z[:, :hidden]), jax.nn.sigmoid(z[:, hidden:2 * hidden]),
                          jnp.tanh(z[:, 2 * hidden:3 * hidden]), jax.nn.sigmoid(z[:, 3 * hidden:]))
            c = f * c + i * g
            h = o * jnp.tanh(c)
        return h @ p[3] + p[4]

    def transformer(p, x, heads=4):
        (embed, pos, g1, b1, wq, wk, wv, wo, g2, b2, m1, mb1, m2, mb2, g3, b3, wout, bout) = p
        n, width = x.shape[0], embed.shape[1]
        hw = width // heads

        def norm(v, g, b):
            c = v - v.mean(axis=2, keepdims=True)
            return c * jax.lax.rsqrt((c * c).mean(axis=2, keepdims=True) + 1e-5) * g + b

        def split(v):
            return v.reshape(n, 49, heads, hw).transpose(0, 2, 1, 3).reshape(n * heads, 49, hw)
        patches = x.reshape(n, 7, 4, 7, 4).transpose(0, 1, 3, 2, 4).reshape(n, 49, 16)
        h0 = patches @ embed + pos
        a = norm(h0, g1, b1)
        q, k, v = split(a @ wq), split(a @ wk), split(a @ wv)
        att = jax.nn.softmax(q @ k.transpose(0, 2, 1) / jnp.sqrt(float(hw)), axis=2)
        mixed = (att @ v).reshape(n, heads, 49, hw).transpose(0, 2, 1, 3).reshape(n, 49, width)
        h1 = h0 + mixed @ wo
        h2 = h1 + (jax.nn.relu(norm(h1, g2, b2) @ m1 + mb1) @ m2 + mb2)
        pooled = norm(h2, g3, b3).mean(axis=1)
        return pooled @ wout + bout

    def resnet18(p, x):
        dn = ("NCHW", "OIHW", "NCHW")
        it = iter(p)

        def conv(v, stride, pad):
            w, b = next(it), next(it)
            return jax.lax.conv_general_dilated(v, w, (stride, stride), [(pad, pad), (pad, pad)], dimension_numbers=dn) + b
        h = jax.nn.relu(conv(x, 1, 1))
        cin = 64
        for stage, cout in enumerate([64, 128, 256, 512], start=1):
            for block in range(2):
                stride = 2 if stage > 1 and block == 0 else 1
                a = jax.nn.relu(conv(h, stride, 1))
                main = conv(a, 1, 1)
                short = h if stride == 1 and cin == cout else conv(h, stride, 0)
                h = jax.nn.relu(main + short)
                cin = cout
        pooled = jax.lax.reduce_window(h, 0.0, jax.lax.add, (1, 1, 4, 4), (1, 1, 4, 4), "VALID") / 16.0
        return pooled.reshape(pooled.shape[0], 512) @ next(it) + next(it)

    def train_step(model, optimizer):
        def loss_fn(p, x, y):
            return sce(model(p, x), y)

        def sgd(p, state, x, y):
            loss, g = jax.value_and_grad(loss_fn)(p, x, y)
            return [w - 0.01 * gw for w, gw in zip(p, g)], state, loss

        def adam(p, state, x, y):
            m, v, t = state
            loss, g = jax.value_and_grad(loss_fn)(p, x, y)
            t = t + 1
            m = [0.9 * a + 0.1 * b for a, b in zip(m, g)]
            v = [0.999 * a + 0.001 * b * b for a, b in zip(v, g)]
            c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
            p = [w - 0.001 * (a / c1) / (jnp.sqrt(b / c2) + 1e-8) for w, a, b in zip(p, m, v)]
            return p, (m, v, t), loss

        return jax.jit(adam if optimizer == "adam" else sgd)

    def chain(x, a, b):
        return jnp.tanh(x * a + b) * jax.nn.sigmoid(x) + jax.nn.relu(x)

    return {"mlp": mlp, "lenet5": lenet, "lstm": lstm, "transformer": transformer, "resnet18": resnet18}, train_step, jax.jit(chain), jax


# ---------------------------------------------------------------- NumPy
def numpy_mlp_step(p, state, x, y, optimizer):
    """Forward and backward of the MLP by hand, then SGD or Adam."""
    n = x.shape[0]
    a1 = x @ p[0] + p[1]; h1 = np.maximum(a1, 0)
    a2 = h1 @ p[2] + p[3]; h2 = np.maximum(a2, 0)
    logits = h2 @ p[4] + p[5]
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z); s = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(s[np.arange(n), y]))
    d = s; d[np.arange(n), y] -= 1; d /= n
    g5 = h2.T @ d; g6 = d.sum(0)
    d = (d @ p[4].T) * (a2 > 0)
    g3 = h1.T @ d; g4 = d.sum(0)
    d = (d @ p[2].T) * (a1 > 0)
    g1 = x.T @ d; g2 = d.sum(0)
    grads = [g1, g2, g3, g4, g5, g6]
    if optimizer == "adam":
        m, v, t = state
        t += 1
        c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
        for k, g in enumerate(grads):
            m[k] *= 0.9; m[k] += 0.1 * g
            v[k] *= 0.999; v[k] += 0.001 * g * g
            p[k] -= 0.001 * (m[k] / c1) / (np.sqrt(v[k] / c2) + 1e-8)
        return p, (m, v, t), loss
    for k, g in enumerate(grads):
        p[k] -= 0.01 * g
    return p, state, loss


def numpy_mlp_forward(p, x):
    h = np.maximum(x @ p[0] + p[1], 0)
    h = np.maximum(h @ p[2] + p[3], 0)
    return h @ p[4] + p[5]


def numpy_chain(x, a, b):
    return np.tanh(x * a + b) * (1 / (1 + np.exp(-x))) + np.maximum(x, 0)
