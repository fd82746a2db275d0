#!/usr/bin/env python3
"""Writes large .kiln graphs for the compile-time benchmark (Docs/BENCHMARKS.md, "Compile time").

    python3 Benchmarks/big_graph.py chain 20000 > /tmp/chain20k.kiln
    python3 Benchmarks/big_graph.py mixed 20000 > /tmp/mixed20k.kiln
    python3 Benchmarks/big_graph.py params 20000 > /tmp/params20k.kiln
    python3 Benchmarks/big_graph.py unshared 20000 > /tmp/unshared20k.kiln

`chain`: a long elementwise chain over f32[16, 32] (3 nodes a line, named every third value,
values used twice so gradients accumulate), ending in a scalar `loss`.
`mixed`: repeated blocks of matmul, add, relu, softmax, reduce_sum, mul, add (7 nodes), with
8 weight/bias pairs shared round-robin so every weight gradient sums many contributions.
`params`: a chain tanh(add(w_i, h)) with one f32[16, 32] param per two nodes (gradients and
training steps with thousands of params and outputs). `unshared`: `mixed` with its own weight
and bias per block. The node count is approximate (within one line's worth).
Tests/KilnPassesTests/BigGraphs.swift writes the same `chain` and `mixed` text.
"""
import sys

CHAIN_LINES = [
    "relu(add(mul({h}, w), b))",
    "tanh(sub({h}, mul({h}, b)))",
    "sigmoid(add(square({h}), w))",
    "add(neg({h}), mul(exp({h}), w))",
]


def chain(n):
    out = ["graph chain {", "  input x: f32[16, 32]", "  param w: f32[16, 32] = glorot_uniform",
           "  param b: f32[32] = zeros"]
    h, nodes, i = "x", 0, 0
    while nodes < n:
        line = CHAIN_LINES[i % len(CHAIN_LINES)]
        out.append(f"  h{i} = " + line.format(h=h))
        nodes += line.count("(")
        h, i = f"h{i}", i + 1
    out += [f"  loss = reduce_sum({h}, axes=[0, 1])", "  output loss", "}"]
    return "\n".join(out) + "\n"


def mixed(n, pairs=8):
    out = ["graph mixed {", "  input x: f32[16, 32]"]
    for p in range(pairs):
        out += [f"  param w{p}: f32[32, 32] = glorot_uniform", f"  param b{p}: f32[32] = zeros"]
    h, k = "x", 0
    while 7 * k < n:
        p = k % pairs
        out += [f"  m{k} = matmul({h}, w{p})",
                f"  a{k} = relu(add(m{k}, b{p}))",
                f"  s{k} = softmax(a{k}, axis=1)",
                f"  r{k} = reduce_sum(s{k}, axes=[1], keep_dims=true)",
                f"  h{k} = add(mul(s{k}, r{k}), a{k})"]
        h, k = f"h{k}", k + 1
    out += [f"  loss = reduce_sum({h}, axes=[0, 1])", "  output loss", "}"]
    return "\n".join(out) + "\n"


def params(n):
    lines = (n + 1) // 2
    out = ["graph params {", "  input x: f32[16, 32]"] + [f"  param w{i}: f32[16, 32] = zeros" for i in range(lines)]
    h = "x"
    for i in range(lines):
        out.append(f"  h{i} = tanh(add(w{i}, {h}))")
        h = f"h{i}"
    out += [f"  loss = reduce_sum({h}, axes=[0, 1])", "  output loss", "}"]
    return "\n".join(out) + "\n"


def unshared(n):
    return mixed(n, pairs=(n + 6) // 7)


KINDS = {"chain": chain, "mixed": mixed, "params": params, "unshared": unshared}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit("usage: big_graph.py chain|mixed|params|unshared NODES")
    sys.stdout.write(KINDS[sys.argv[1]](int(sys.argv[2])))
