#!/usr/bin/env python3
"""Independent oracle: runs small graphs covering every Kiln op through `kiln run` and
compares each output with a NumPy computation of the same thing.

Usage: oracle.py --kiln PATH/TO/kiln [--backend interp|jit] [--keep DIR] [-k SUBSTRING]

Every case runs on the chosen backend (`make test` runs both), so each generated kernel is
checked against NumPy as well as against the interpreter.

Tolerances (float32 on both sides): exact for layout ops and integer results; rtol 2e-5 /
atol 2e-6 for elementwise and transcendental ops; rtol 1e-4 / atol 1e-5 for sums, GEMMs,
convolutions and losses (summation order differs from NumPy's pairwise sums and OpenBLAS).
"""
import argparse
import math
import os
import subprocess
import concurrent.futures
import sys
import tempfile

import numpy as np

R = np.random.default_rng(1234)
f32 = np.float32


def rand(*shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, size=shape).astype(f32)


def sigmoid(x):
    return (1 / (1 + np.exp(-x.astype(np.float64)))).astype(f32)


def log_softmax(x, axis):
    x = x.astype(np.float64)
    m = x.max(axis=axis, keepdims=True)
    return (x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).astype(f32)


def softmax(x, axis):
    return np.exp(log_softmax(x, axis).astype(np.float64)).astype(f32)


def conv2d(x, w, stride, pad):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (h + 2 * pad[0] - kh) // stride[0] + 1
    ow = (wd + 2 * pad[1] - kw) // stride[1] + 1
    y = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]
            y[:, :, i, j] = np.tensordot(patch, w.astype(np.float64), axes=([1, 2, 3], [1, 2, 3]))
    return y.astype(f32)


def conv2d_grads(x, w, dy, stride, pad):
    """Adjoints of conv2d by brute force over output positions."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape)
    for i in range(dy.shape[2]):
        for j in range(dy.shape[3]):
            r, s = i * stride[0], j * stride[1]
            g = dy[:, :, i, j].astype(np.float64)  # n, o
            dxp[:, :, r:r + kh, s:s + kw] += np.tensordot(g, w.astype(np.float64), axes=([1], [0]))
            dw += np.tensordot(g, xp[:, :, r:r + kh, s:s + kw], axes=([0], [0]))
    dx = dxp[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + wd]
    return dx.astype(f32), dw.astype(f32)


def grouped(fn, x, w, groups):
    """A grouped convolution (or adjoint) as `groups` independent ones over channel blocks."""
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    parts = [fn(x[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og]) for g in range(groups)]
    return np.concatenate(parts, axis=1)


def grouped_grads(x, w, dy, stride, pad, groups):
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    parts = [conv2d_grads(x[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og], dy[:, g * og:(g + 1) * og], stride, pad)
             for g in range(groups)]
    return np.concatenate([p[0] for p in parts], axis=1), np.concatenate([p[1] for p in parts], axis=0)


def pool(x, window, stride, pad, kind):
    n, c, h, w = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])), constant_values=fill)
    oh = (h + 2 * pad[0] - window[0]) // stride[0] + 1
    ow = (w + 2 * pad[1] - window[1]) // stride[1] + 1
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride[0]:i * stride[0] + window[0], j * stride[1]:j * stride[1] + window[1]]
            y[:, :, i, j] = patch.max(axis=(2, 3)) if kind == "max" else patch.sum(axis=(2, 3)) / (window[0] * window[1])
    return y.astype(f32)


def max_pool_grad(x, dy, window, stride, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])), constant_values=-np.inf)
    dxp = np.zeros(xp.shape)
    for b in range(n):
        for ch in range(c):
            for i in range(dy.shape[2]):
                for j in range(dy.shape[3]):
                    r, s = i * stride[0], j * stride[1]
                    patch = xp[b, ch, r:r + window[0], s:s + window[1]]
                    k = int(np.argmax(patch))  # first maximum in row-major order
                    dxp[b, ch, r + k // window[1], s + k % window[1]] += dy[b, ch, i, j]
    return dxp[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w].astype(f32)


def avg_pool_grad(dy, shape, window, stride, pad):
    n, c, h, w = shape
    dxp = np.zeros((n, c, h + 2 * pad[0], w + 2 * pad[1]))
    for i in range(dy.shape[2]):
        for j in range(dy.shape[3]):
            r, s = i * stride[0], j * stride[1]
            dxp[:, :, r:r + window[0], s:s + window[1]] += dy[:, :, i:i + 1, j:j + 1] / (window[0] * window[1])
    return dxp[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w].astype(f32)


U64 = np.uint64


def mix(z):
    """KilnRandom.mix (splitmix64's finaliser) on uint64 arrays, wrapping like Swift's &* and &+."""
    z = z + U64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    return z ^ (z >> U64(31))


def kiln_uniform(seed, count, step=0):
    """KilnRandom.uniform at indices 0..<count of the stream (seed, step): 24-bit floats in [0, 1)."""
    key = mix(np.array([seed], U64) ^ mix(np.array([step], U64)))
    bits = mix(key ^ np.arange(count, dtype=U64)) >> U64(40)
    return bits.astype(f32) * f32(1.0 / 16777216.0)


def ew(name, np_fn, shapes=((3, 1, 4), (5, 4)), lo=-2.0, hi=2.0):
    a, b = rand(*shapes[0], lo=lo, hi=hi), rand(*shapes[1], lo=lo, hi=hi)
    ta, tb = "f32" + str(list(shapes[0])), "f32" + str(list(shapes[1]))
    return (name, f"input a: {ta}\n input b: {tb}\n y = {name}(a, b)", {"a": a, "b": b}, lambda a, b: np_fn(a, b), "ew")


def un(name, np_fn, lo=-3.0, hi=3.0, attrs="", shape=(4, 7)):
    x = rand(*shape, lo=lo, hi=hi)
    return (name + attrs, f"input x: f32{list(shape)}\n y = {name}(x{attrs})", {"x": x}, lambda x: np_fn(x), "ew")


def case(name, body, inputs, fn, tol="sum"):
    return (name, body, inputs, fn, tol)


def cases():
    c = []
    c.append(ew("add", lambda a, b: a + b))
    c.append(ew("add", lambda a, b: a + b, shapes=((), (2, 3))))
    c.append(ew("sub", lambda a, b: a - b, shapes=((2, 1), (1, 6))))
    c.append(ew("mul", lambda a, b: a * b))
    c.append(ew("div", lambda a, b: a / b, lo=0.5, hi=2.0))
    c.append(ew("max", np.maximum))
    c.append(ew("min", np.minimum))
    c.append(ew("pow", lambda a, b: np.power(a, b), lo=0.5, hi=2.0))
    for op, fn in [("equal", np.equal), ("not_equal", np.not_equal), ("less", np.less),
                   ("less_equal", np.less_equal), ("greater", np.greater), ("greater_equal", np.greater_equal)]:
        a = R.integers(-2, 3, size=(3, 4)).astype(f32)
        b = R.integers(-2, 3, size=(4,)).astype(f32)
        c.append(case(op, f"input a: f32[3, 4]\n input b: f32[4]\n y = {op}(a, b)", {"a": a, "b": b},
                      lambda a, b, fn=fn: fn(a, b).astype(f32), "exact"))
    cond = (R.uniform(size=(3, 4)) > 0.5).astype(f32)
    c.append(case("select", "input c: f32[3, 4]\n input a: f32[3, 4]\n input b: f32[4]\n y = select(c, a, b)",
                  {"c": cond, "a": rand(3, 4), "b": rand(4)}, lambda c, a, b: np.where(c != 0, a, b), "exact"))
    c.append(un("neg", np.negative))
    c.append(un("exp", np.exp))
    c.append(un("log", np.log, lo=0.01, hi=5))
    c.append(un("sqrt", np.sqrt, lo=0.0, hi=5))
    c.append(un("rsqrt", lambda x: (1 / np.sqrt(x.astype(np.float64))).astype(f32), lo=0.1, hi=5))
    c.append(un("square", np.square))
    c.append(un("abs", np.abs))
    c.append(un("sign", np.sign))
    c.append(un("tanh", np.tanh))
    c.append(un("sigmoid", sigmoid, lo=-20, hi=20))
    c.append(un("relu", lambda x: np.maximum(x, 0)))
    c.append(un("leaky_relu", lambda x: np.where(x > 0, x, f32(0.2) * x), attrs=", alpha=0.2"))
    c.append(un("elu", lambda x: np.where(x > 0, x, f32(0.5) * np.expm1(x)), attrs=", alpha=0.5"))
    c.append(un("softplus", lambda x: (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x.astype(np.float64))))).astype(f32), lo=-40, hi=40))
    c.append(un("stop_gradient", lambda x: x))
    c.append(un("log1p", lambda x: np.log1p(x.astype(np.float64)).astype(f32), lo=-0.99, hi=5))
    c.append(un("expm1", lambda x: np.expm1(x.astype(np.float64)).astype(f32), lo=-20, hi=20))
    # Near 0, scaled by 1e6: log(1 + x) or exp(x) − 1 in f32 would be off by percents here.
    for op in ["log1p", "expm1"]:
        c.append(case(op + " near 0", f"input x: f32[2, 5]\n y = mul({op}(x), 1000000.0)", {"x": rand(2, 5, lo=-1e-6, hi=1e-6)},
                      lambda x, fn=getattr(np, op): (fn(x.astype(np.float64)) * 1e6).astype(f32), "ew"))
    c.append(un("erf", lambda x: np.vectorize(math.erf)(x.astype(np.float64)).astype(f32), lo=-4, hi=4))
    c.append(case("if_training", "input a: f32[3, 4]\n input b: f32[4]\n y = if_training(a, b)", {"a": rand(3, 4), "b": rand(4)},
                  lambda a, b: a, "exact"))
    bp = rand(6, 9, lo=-0.2, hi=1.2)
    c.append(case("bernoulli", "input p: f32[6, 9]\n y = bernoulli(p, seed=21)", {"p": bp},
                  lambda p: (kiln_uniform(21, p.size).reshape(p.shape) < p).astype(f32), "exact"))
    c.append(case("random_uniform", "input x: f32[2]\n y = random_uniform(shape=[5, 7], low=-1.5, high=2.25, seed=8)", {"x": rand(2)},
                  lambda x: f32(-1.5) + (f32(2.25) - f32(-1.5)) * kiln_uniform(8, 35).reshape(5, 7), "exact"))
    c.append(case("iota", "input x: f32[2]\n y = iota(shape=[3, 4, 2], axis=1, dtype=f32)", {"x": rand(2)},
                  lambda x: np.broadcast_to(np.arange(4, dtype=f32)[None, :, None], (3, 4, 2)).copy(), "exact"))
    c.append(case("iota_i32", "input x: f32[2]\n y = iota(shape=[5, 3], axis=-1)", {"x": rand(2)},
                  lambda x: np.broadcast_to(np.arange(3, dtype=np.int32), (5, 3)).copy(), "exact"))
    c.append(case("cast", "input x: f32[2, 5]\n y = cast(x, dtype=i32)", {"x": rand(2, 5, lo=-9, hi=9)},
                  lambda x: np.trunc(x).astype(np.int32), "exact"))
    c.append(case("constant", "input x: f32[2]\n k = constant(value=2.5, shape=[2, 3])\n y = add(k, 0.0)", {"x": rand(2)},
                  lambda x: np.full((2, 3), 2.5, f32), "exact"))

    a, b = rand(5, 7), rand(7, 3)
    c.append(case("matmul", "input a: f32[5, 7]\n input b: f32[7, 3]\n y = matmul(a, b)", {"a": a, "b": b}, lambda a, b: a @ b))
    c.append(case("matmul_ta_tb", "input a: f32[7, 5]\n input b: f32[3, 7]\n y = matmul(a, b, transpose_a=true, transpose_b=true)",
                  {"a": rand(7, 5), "b": rand(3, 7)}, lambda a, b: a.T @ b.T))
    c.append(case("matmul_batched", "input a: f32[4, 2, 6]\n input b: f32[4, 6, 3]\n y = matmul(a, b)",
                  {"a": rand(4, 2, 6), "b": rand(4, 6, 3)}, lambda a, b: a @ b))
    c.append(case("matmul_3x2_tb", "input a: f32[4, 2, 6]\n input b: f32[3, 6]\n y = matmul(a, b, transpose_b=true)",
                  {"a": rand(4, 2, 6), "b": rand(3, 6)}, lambda a, b: a @ b.T))
    c.append(case("matmul_2x3_ta", "input a: f32[6, 2]\n input b: f32[4, 6, 3]\n y = matmul(a, b, transpose_a=true)",
                  {"a": rand(6, 2), "b": rand(4, 6, 3)}, lambda a, b: a.T @ b))
    c.append(case("matmul_4d_broadcast", "input a: f32[2, 1, 3, 6]\n input b: f32[5, 6, 4]\n y = matmul(a, b)",
                  {"a": rand(2, 1, 3, 6), "b": rand(5, 6, 4)}, lambda a, b: a @ b))
    c.append(case("matmul_4d_gemm_tb", "input a: f32[3, 40, 30]\n input b: f32[2, 1, 50, 30]\n y = matmul(a, b, transpose_b=true)",
                  {"a": rand(3, 40, 30), "b": rand(2, 1, 50, 30)}, lambda a, b: a @ np.swapaxes(b, -1, -2)))
    x, w = rand(2, 3, 9, 8), rand(4, 3, 3, 3)
    c.append(case("conv2d", "input x: f32[2, 3, 9, 8]\n input w: f32[4, 3, 3, 3]\n y = conv2d(x, w, stride=[2, 2], padding=[1, 1])",
                  {"x": x, "w": w}, lambda x, w: conv2d(x, w, (2, 2), (1, 1))))
    c.append(case("conv2d_plain", "input x: f32[1, 2, 7, 7]\n input w: f32[3, 2, 5, 3]\n y = conv2d(x, w)",
                  {"x": rand(1, 2, 7, 7), "w": rand(3, 2, 5, 3)}, lambda x, w: conv2d(x, w, (1, 1), (0, 0))))
    dy = rand(2, 4, 5, 4)
    c.append(case("conv2d_grad_input", "input dy: f32[2, 4, 5, 4]\n input w: f32[4, 3, 3, 3]\n y = conv2d_grad_input(dy, w, shape=[2, 3, 9, 8], stride=[2, 2], padding=[1, 1])",
                  {"dy": dy, "w": w}, lambda dy, w: conv2d_grads(x, w, dy, (2, 2), (1, 1))[0]))
    c.append(case("conv2d_grad_filter", "input x: f32[2, 3, 9, 8]\n input dy: f32[2, 4, 5, 4]\n y = conv2d_grad_filter(x, dy, shape=[4, 3, 3, 3], stride=[2, 2], padding=[1, 1])",
                  {"x": x, "dy": dy}, lambda x, dy: conv2d_grads(x, w, dy, (2, 2), (1, 1))[1]))
    # Depthwise (multiplier 2, stride 2) and grouped (3 groups of 4 channels, rectangular).
    dx_, dw_ = rand(2, 8, 13, 11), rand(16, 1, 3, 3)
    c.append(case("conv2d_depthwise", "input x: f32[2, 8, 13, 11]\n input w: f32[16, 1, 3, 3]\n y = conv2d(x, w, stride=[2, 2], padding=[1, 1], groups=8)",
                  {"x": dx_, "w": dw_}, lambda x, w: grouped(lambda a, b: conv2d(a, b, (2, 2), (1, 1)), x, w, 8)))
    gx, gw = rand(2, 12, 9, 10), rand(6, 4, 3, 2)
    c.append(case("conv2d_grouped", "input x: f32[2, 12, 9, 10]\n input w: f32[6, 4, 3, 2]\n y = conv2d(x, w, stride=[1, 2], padding=[1, 0], groups=3)",
                  {"x": gx, "w": gw}, lambda x, w: grouped(lambda a, b: conv2d(a, b, (1, 2), (1, 0)), x, w, 3)))
    gdy = rand(2, 16, 7, 6)
    c.append(case("conv2d_grad_input_depthwise", "input dy: f32[2, 16, 7, 6]\n input w: f32[16, 1, 3, 3]\n y = conv2d_grad_input(dy, w, shape=[2, 8, 13, 11], stride=[2, 2], padding=[1, 1], groups=8)",
                  {"dy": gdy, "w": dw_}, lambda dy, w: grouped_grads(dx_, w, dy, (2, 2), (1, 1), 8)[0]))
    c.append(case("conv2d_grad_filter_depthwise", "input x: f32[2, 8, 13, 11]\n input dy: f32[2, 16, 7, 6]\n y = conv2d_grad_filter(x, dy, shape=[16, 1, 3, 3], stride=[2, 2], padding=[1, 1], groups=8)",
                  {"x": dx_, "dy": gdy}, lambda x, dy: grouped_grads(x, dw_, dy, (2, 2), (1, 1), 8)[1]))
    px = rand(2, 3, 7, 5)
    c.append(case("max_pool2d", "input x: f32[2, 3, 7, 5]\n y = max_pool2d(x, window=[3, 2], stride=[2, 2], padding=[1, 0])",
                  {"x": px}, lambda x: pool(x, (3, 2), (2, 2), (1, 0), "max"), "exact"))
    c.append(case("avg_pool2d", "input x: f32[2, 3, 7, 5]\n y = avg_pool2d(x, window=[3, 3], stride=[2, 1], padding=[1, 1])",
                  {"x": px}, lambda x: pool(x, (3, 3), (2, 1), (1, 1), "avg")))
    pdy = rand(2, 3, 4, 2)
    c.append(case("max_pool2d_grad", "input x: f32[2, 3, 7, 5]\n input dy: f32[2, 3, 4, 2]\n y = max_pool2d_grad(x, dy, window=[3, 2], stride=[2, 2], padding=[1, 0])",
                  {"x": px, "dy": pdy}, lambda x, dy: max_pool_grad(x, dy, (3, 2), (2, 2), (1, 0))))
    ady = rand(2, 3, 4, 5)
    c.append(case("avg_pool2d_grad", "input dy: f32[2, 3, 4, 5]\n y = avg_pool2d_grad(dy, shape=[2, 3, 7, 5], window=[3, 3], stride=[2, 1], padding=[1, 1])",
                  {"dy": ady}, lambda dy: avg_pool_grad(dy, (2, 3, 7, 5), (3, 3), (2, 1), (1, 1))))

    t = rand(2, 3, 4)
    c.append(case("transpose", "input x: f32[2, 3, 4]\n y = transpose(x, perm=[2, 0, 1])", {"x": t}, lambda x: np.transpose(x, (2, 0, 1)), "exact"))
    c.append(case("reshape", "input x: f32[2, 3, 4]\n y = reshape(x, shape=[4, -1])", {"x": t}, lambda x: x.reshape(4, 6), "exact"))
    c.append(case("broadcast_to", "input x: f32[3, 1]\n y = broadcast_to(x, shape=[2, 3, 5])", {"x": rand(3, 1)},
                  lambda x: np.broadcast_to(x, (2, 3, 5)).copy(), "exact"))
    c.append(case("concat", "input a: f32[2, 3]\n input b: f32[2, 1]\n input d: f32[2, 2]\n y = concat(a, b, d, axis=-1)",
                  {"a": rand(2, 3), "b": rand(2, 1), "d": rand(2, 2)}, lambda a, b, d: np.concatenate([a, b, d], axis=1), "exact"))
    c.append(case("slice", "input x: f32[2, 3, 4]\n y = slice(x, begin=[1, 0, 1], end=[2, 2, 4])", {"x": t}, lambda x: x[1:2, 0:2, 1:4], "exact"))
    c.append(case("pad", "input x: f32[2, 3]\n y = pad(x, before=[1, 0], after=[0, 2])", {"x": rand(2, 3)},
                  lambda x: np.pad(x, ((1, 0), (0, 2))), "exact"))
    table, idx = rand(6, 4), R.integers(0, 6, size=(3, 2)).astype(np.int32)
    c.append(case("gather", "input t: f32[6, 4]\n input i: i32[3, 2]\n y = gather(t, i)", {"t": table, "i": idx}, lambda t, i: t[i], "exact"))
    gdy = rand(3, 2, 4)

    def scatter(dy, i):
        out = np.zeros((6, 4), np.float64)
        np.add.at(out, i.reshape(-1), dy.reshape(-1, 4))
        return out.astype(f32)
    c.append(case("gather_grad", "input dy: f32[3, 2, 4]\n input i: i32[3, 2]\n y = gather_grad(dy, i, rows=6)", {"dy": gdy, "i": idx}, scatter))
    lab = R.integers(0, 5, size=(7,)).astype(np.int32)
    c.append(case("one_hot", "input i: i32[7]\n y = one_hot(i, depth=5)", {"i": lab}, lambda i: np.eye(5, dtype=f32)[i], "exact"))
    c.append(case("argmax", "input x: f32[4, 6]\n y = argmax(x, axis=1)", {"x": rand(4, 6)}, lambda x: np.argmax(x, axis=1).astype(np.int32), "exact"))
    c.append(case("reduce_sum", "input x: f32[2, 3, 4]\n y = reduce_sum(x, axes=[0, 2])", {"x": t}, lambda x: x.sum(axis=(0, 2))))
    c.append(case("reduce_sum_keep", "input x: f32[2, 3, 4]\n y = reduce_sum(x, axes=[-1], keep_dims=true)", {"x": t}, lambda x: x.sum(axis=-1, keepdims=True)))
    c.append(case("reduce_mean", "input x: f32[2, 3, 4]\n y = reduce_mean(x, axes=[1])", {"x": t}, lambda x: x.mean(axis=1)))
    c.append(case("reduce_max", "input x: f32[2, 3, 4]\n y = reduce_max(x, axes=[0, 1], keep_dims=true)", {"x": t}, lambda x: x.max(axis=(0, 1), keepdims=True), "exact"))
    big = rand(3, 5, lo=-50, hi=50)
    c.append(case("softmax", "input x: f32[3, 5]\n y = softmax(x, axis=1)", {"x": big}, lambda x: softmax(x, 1)))
    c.append(case("softmax_axis0", "input x: f32[3, 5]\n y = softmax(x, axis=0)", {"x": big}, lambda x: softmax(x, 0)))
    c.append(case("log_softmax", "input x: f32[3, 5]\n y = log_softmax(x)", {"x": big}, lambda x: log_softmax(x, -1)))
    logits = rand(7, 5, lo=-10, hi=10)

    def sce(l, y):
        return np.array(-log_softmax(l, 1)[np.arange(len(y)), y].astype(np.float64).mean(), f32)
    c.append(case("softmax_cross_entropy", "input l: f32[7, 5]\n input t: i32[7]\n y = softmax_cross_entropy(l, t)", {"l": logits, "t": lab}, sce))
    c.append(case("softmax_cross_entropy_grad", "input l: f32[7, 5]\n input t: i32[7]\n input g: f32[]\n y = softmax_cross_entropy_grad(l, t, g)",
                  {"l": logits, "t": lab, "g": np.array(0.5, f32)},
                  lambda l, t, g: ((softmax(l, 1) - np.eye(5, dtype=f32)[t]) * g / 7).astype(f32)))
    p, q = rand(3, 4, lo=0.01, hi=0.99), rand(3, 4, lo=0, hi=1)
    c.append(case("mse", "input a: f32[3, 4]\n input b: f32[3, 4]\n y = mse(a, b)", {"a": rand(3, 4), "b": q},
                  lambda a, b: np.array(((a.astype(np.float64) - b) ** 2).mean(), f32)))
    c.append(case("binary_cross_entropy", "input a: f32[3, 4]\n input b: f32[3, 4]\n y = binary_cross_entropy(a, b)", {"a": p, "b": q},
                  lambda a, b: np.array((-(b * np.log(a.astype(np.float64)) + (1 - b) * np.log(1 - a.astype(np.float64)))).mean(), f32)))
    xs = rand(3, 4, lo=-30, hi=30)
    c.append(case("sigmoid_cross_entropy", "input a: f32[3, 4]\n input b: f32[3, 4]\n y = sigmoid_cross_entropy(a, b)", {"a": xs, "b": q},
                  lambda a, b: np.array((np.maximum(a, 0) - a * b + np.log1p(np.exp(-np.abs(a.astype(np.float64))))).mean(), f32)))
    return c


def write_npy(path, array):
    np.save(path, array)


def run_case(kiln, workdir, name, body, inputs, fn, tol, index, backend="interp"):
    directory = os.path.join(workdir, f"{index:02d}_{name}")
    os.makedirs(directory, exist_ok=True)
    graph = os.path.join(directory, "g.kiln")
    with open(graph, "w") as f:
        f.write("graph oracle {\n " + body + "\n output y\n}\n")
    args = [kiln, "run", graph, "--backend", backend, "--output-dir", os.path.join(directory, "out")]
    for key, value in inputs.items():
        path = os.path.join(directory, key + ".npy")
        write_npy(path, value)
        args += ["--input", f"{key}={path}"]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"kiln run failed ({proc.returncode}): {proc.stderr.strip()}"
    got = np.load(os.path.join(directory, "out", "y.npy"))
    want = np.asarray(fn(*inputs.values()))
    if got.shape != want.shape:
        return f"shape {got.shape} != expected {want.shape}"
    if tol == "exact":
        if got.dtype != want.dtype and want.dtype != np.bool_:
            return f"dtype {got.dtype} != expected {want.dtype}"
        ok = np.array_equal(got, want.astype(got.dtype))
        err = 0.0 if ok else float(np.max(np.abs(got.astype(np.float64) - want)))
    else:
        rtol, atol = (2e-5, 2e-6) if tol == "ew" else (1e-4, 1e-5)
        ok = np.allclose(got, want, rtol=rtol, atol=atol)
        err = float(np.max(np.abs(got.astype(np.float64) - want))) if got.size else 0.0
    return None if ok else f"max abs error {err:.3g} beyond tolerance"


def run_mlp(kiln, workdir, backend="interp"):
    """The issue's acceptance check: Graphs/mlp.kiln's loss equals NumPy's for the same params."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    d = os.path.join(workdir, "mlp")
    os.makedirs(d, exist_ok=True)
    x = R.uniform(0, 1, size=(128, 784)).astype(f32)
    y = R.integers(0, 10, size=(128,)).astype(np.int32)
    params = {"w1": rand(784, 256, lo=-0.08, hi=0.08), "b1": rand(256, lo=-0.1, hi=0.1),
              "w2": rand(256, 128, lo=-0.1, hi=0.1), "b2": rand(128, lo=-0.1, hi=0.1),
              "w3": rand(128, 10, lo=-0.2, hi=0.2), "b3": rand(10, lo=-0.1, hi=0.1)}
    args = [kiln, "run", os.path.join(root, "Graphs", "mlp.kiln"), "--backend", backend, "--output-dir", os.path.join(d, "out")]
    for k, v in [("x", x), ("labels", y)]:
        write_npy(os.path.join(d, k + ".npy"), v)
        args += ["--input", f"{k}={os.path.join(d, k + '.npy')}"]
    for k, v in params.items():
        write_npy(os.path.join(d, k + ".npy"), v)
        args += ["--param", f"{k}={os.path.join(d, k + '.npy')}"]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"kiln run failed: {proc.stderr.strip()}"
    h1 = np.maximum(x @ params["w1"] + params["b1"], 0)
    h2 = np.maximum(h1 @ params["w2"] + params["b2"], 0)
    logits = h2 @ params["w3"] + params["b3"]
    want = -log_softmax(logits, 1)[np.arange(128), y].astype(np.float64).mean()
    got = float(np.load(os.path.join(d, "out", "loss.npy")))
    return None if abs(got - want) <= 1e-5 * abs(want) else f"loss {got} != NumPy {want}"


BATCH_NORM = """graph bn {
  input x: f32[16, 3]
  input t: f32[16, 2]
  param gamma: f32[3] = ones
  param beta: f32[3] = zeros
  param w: f32[3, 2] = glorot_uniform
  state running_mean: f32[1, 3] = zeros
  state running_var: f32[1, 3] = ones
  mean = reduce_mean(x, axes=[0], keep_dims=true)
  var = reduce_mean(square(sub(x, mean)), axes=[0], keep_dims=true)
  m = if_training(mean, running_mean)
  v = if_training(var, running_var)
  y = matmul(add(mul(mul(sub(x, m), rsqrt(add(v, 0.00001))), gamma), beta), w)
  loss = mse(y, t)
  output loss
  next_mean = add(mul(running_mean, 0.9), mul(mean, 0.1))
  next_var = add(mul(running_var, 0.9), mul(var, 0.1))
  update running_mean = next_mean
  update running_var = next_var
}
"""


def run_batchnorm(kiln, workdir, backend="interp", steps=4):
    """Batch norm's running statistics after N training steps (kiln run --train, state fed
    back each step) equal NumPy's exponential averages of x.mean(0) and x.var(0)."""
    d = os.path.join(workdir, "batchnorm")
    os.makedirs(d, exist_ok=True)
    graph = os.path.join(d, "bn.kiln")
    with open(graph, "w") as f:
        f.write(BATCH_NORM)
    mean, var = np.zeros((1, 3)), np.ones((1, 3))
    carried = {}
    for step in range(steps):
        x = rand(16, 3, lo=-1, hi=3) * np.array([1, 4, 0.5], f32)
        t = rand(16, 2)
        out = os.path.join(d, f"out{step}")
        args = [kiln, "run", graph, "--backend", backend, "--train", "loss", "--optimizer", "sgd:lr=0.1",
                "--step", str(step), "--output-dir", out]
        for k, v in [("x", x), ("t", t)]:
            write_npy(os.path.join(d, f"{k}{step}.npy"), v)
            args += ["--input", f"{k}={os.path.join(d, f'{k}{step}.npy')}"]
        for name, path in carried.items():
            args += ["--param", f"{name}={path}"]
        proc = subprocess.run(args, capture_output=True, text=True)
        if proc.returncode != 0:
            return f"kiln run failed at step {step}: {proc.stderr.strip()}"
        carried = {name: os.path.join(out, f"{name}.npy") for name in ["gamma", "beta", "w", "running_mean", "running_var"]}
        x64 = x.astype(np.float64)
        mean = 0.9 * mean + 0.1 * x64.mean(axis=0, keepdims=True)
        var = 0.9 * var + 0.1 * x64.var(axis=0, keepdims=True)
    got_mean, got_var = np.load(carried["running_mean"]), np.load(carried["running_var"])
    if not (np.allclose(got_mean, mean, rtol=1e-5, atol=1e-6) and np.allclose(got_var, var, rtol=1e-5, atol=1e-6)):
        return f"running statistics {got_mean}, {got_var} != NumPy {mean}, {var}"
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--backend", default="interp", choices=["interp", "jit"])
    parser.add_argument("--keep", help="keep generated files in this directory")
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (each its own kiln process)")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.keep:
        run(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="kiln-oracle-") as workdir:
            run(args, workdir)


def run(args, workdir):
    failures, passed = [], 0
    all_cases = [c for c in cases() if args.k in c[0]]
    # Cases are independent (a directory each); results are reported in case order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        problems = list(pool.map(lambda indexed: run_case(args.kiln, workdir, *indexed[1], indexed[0], args.backend),
                                 enumerate(all_cases)))
    for (name, *_), problem in zip(all_cases, problems):
        if problem:
            failures.append((name, problem))
            print(f"FAIL {name}: {problem}")
        else:
            passed += 1
    if "mlp" in "mlp" + args.k:
        problem = run_mlp(args.kiln, workdir, args.backend)
        if problem:
            failures.append(("mlp", problem))
            print(f"FAIL mlp: {problem}")
        else:
            passed += 1
    if "batchnorm" in "batchnorm" + args.k:
        problem = run_batchnorm(args.kiln, workdir, args.backend)
        if problem:
            failures.append(("batchnorm", problem))
            print(f"FAIL batchnorm: {problem}")
        else:
            passed += 1
    print(f"oracle ({args.backend}): {passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
