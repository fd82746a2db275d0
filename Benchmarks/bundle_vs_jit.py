#!/usr/bin/env python3
"""Start-up and step time of LeNet-5's Adam training step: an ahead-of-time bundle driven from C
(Examples/Bundle/timing.c) against the JIT in one `kiln bench --serve` process (JIT steps only),
alternating between the two several times. A quick measurement for Docs/AOT.md, not a benchmark:
    python3 Benchmarks/bundle_vs_jit.py KILN BUNDLE_DIR [ROUNDS]
BUNDLE_DIR holds `timing_train`, built from timing.c against the lenet5_train bundle."""
import os, re, statistics, subprocess, sys, time

kiln, bundle = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
args = ["bench", "Graphs/lenet5.kiln", "--train", "loss", "--optimizer", "adam:lr=0.001", "--serve"]

def jit(cache):
    env = dict(os.environ, KILN_CACHE_DIR=cache)
    start = time.monotonic()
    p = subprocess.Popen([kiln, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline()
    while line and not line.startswith("ready"):
        line = p.stdout.readline()
    ready = time.monotonic() - start
    compile_ms = float(re.search(r"compile_ms=([\d.]+)", line).group(1))
    times = []
    for i in range(103):
        p.stdin.write("jit\n"); p.stdin.flush()
        t = float(p.stdout.readline())
        if i >= 3: times.append(t)
    p.stdin.close(); p.wait()
    return compile_ms, statistics.median(times), ready

for r in range(rounds):
    cold = jit("off")
    warm = jit(os.environ.get("KILN_CACHE_DIR", os.path.expanduser("~/.cache/kiln")))
    start = time.monotonic()
    out = subprocess.run([os.path.join(bundle, "timing_train"), "100"], capture_output=True, text=True, check=True).stdout.strip()
    process = time.monotonic() - start
    print(f"round {r + 1}: JIT compile {cold[0]:.0f} ms (cache off) / {warm[0]:.0f} ms (warm cache), median step {cold[1]:.2f} / {warm[1]:.2f} ms; "
          f"bundle: {out}; bundle process {process * 1000:.0f} ms for create + 101 steps")
