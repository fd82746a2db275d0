#!/usr/bin/env python3
"""`make bench` (GEMM part): Kiln's generated GEMM against OpenBLAS's sgemm called from the same
JIT (`KILN_GEMM=sgemm`), and NumPy's matmul (OpenBLAS too), on 1024³ and the MLP's batch-32
products; interleaved round by round after warm-up; medians. Writes the table between the
gemm markers of Docs/BENCHMARKS.md. Run on an idle machine."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
import driver  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "15"))
SHAPES = [(1024, 1024, 1024), (32, 784, 256), (32, 256, 128), (32, 128, 10), (128, 784, 256)]


def server(path, gemm):
    env = dict(os.environ)
    if gemm:
        env["KILN_GEMM"] = gemm
    else:
        env.pop("KILN_GEMM", None)
    old = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        return driver.KilnServer(path, ["--warmup", "0", "--steps", "1"])
    finally:
        os.environ.clear()
        os.environ.update(old)


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-gemm-")
    rows = []
    for m, k, n in SHAPES:
        path = os.path.join(tmp, f"mm_{m}_{k}_{n}.kiln")
        with open(path, "w") as f:
            f.write(f"graph mm {{\n  input a: f32[{m}, {k}]\n  input b: f32[{k}, {n}]\n  c = matmul(a, b)\n  output c\n}}\n")
        generated, blas = server(path, None), server(path, "sgemm")
        a, b = np.random.rand(m, k).astype(np.float32), np.random.rand(k, n).astype(np.float32)
        # At least three calls per round: a single 1024³ call took the VM's interruptions whole,
        # and its ratio moved 0.79–0.96 between runs where the smaller products, each the best
        # of many calls, moved less.
        reps = max(3, int(2e8 // (2 * m * n * k)))
        times = {"generated": [], "sgemm": [], "numpy": []}
        for r in range(3 + ROUNDS):
            # The driver's pause after every contender, NumPy's too: OpenBLAS's threads spin for
            # a while after a call and would otherwise share the next round's first contender's
            # cores (the generated GEMM ran 1024³ 1.3-1.4x slower right after NumPy's call).
            g = min(generated.step("jit") for _ in range(reps))
            time.sleep(driver.PAUSE)
            s = min(blas.step("jit") for _ in range(reps))
            time.sleep(driver.PAUSE)
            t = []
            for _ in range(reps):
                t0 = time.perf_counter()
                a @ b
                t.append(time.perf_counter() - t0)
            time.sleep(driver.PAUSE)
            if r >= 3:
                times["generated"].append(g)
                times["sgemm"].append(s)
                times["numpy"].append(min(t))
        generated.close()
        blas.close()
        med = {key: statistics.median(v) for key, v in times.items()}
        flops = 2 * m * n * k
        rows.append((m, k, n, med, flops))
        print(f"{m}x{k}x{n}: generated {med['generated']*1e3:.3f} ms ({flops/med['generated']/1e9:.1f} GFLOP/s), "
              f"sgemm {med['sgemm']*1e3:.3f} ms, numpy {med['numpy']*1e3:.3f} ms", flush=True)
    lines = ["| product (m×k×n) | Kiln generated GEMM | Kiln + OpenBLAS sgemm | NumPy (OpenBLAS) | generated ÷ sgemm speed |",
             "|---|---|---|---|---|"]
    for m, k, n, med, flops in rows:
        g, s, p = med["generated"], med["sgemm"], med["numpy"]
        lines.append(f"| {m}×{k}×{n} | {g*1e3:.3f} ms ({flops/g/1e9:.0f} GFLOP/s) | {s*1e3:.3f} ms ({flops/s/1e9:.0f} GFLOP/s) | "
                     f"{p*1e3:.3f} ms | {s/g:.2f}× |")
    table = "\n".join(lines)
    doc = os.path.join(ROOT, "Docs", "BENCHMARKS.md")
    text = open(doc).read()
    start, end = "<!-- gemm-start -->", "<!-- gemm-end -->"
    measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    block = (f"{start}\nMeasured {measured}. Command: `make bench` (`Benchmarks/gemm.py`), {ROUNDS} rounds, each the best of at least 3 calls and of enough to fill "
             f"~0.1 s of arithmetic; medians; one `kiln bench --serve` process per contender (the JIT step is the whole product).\n\n"
             f"{table}\n{end}")
    if start in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n## Generated GEMM against OpenBLAS\n\n" + block + "\n"
    open(doc, "w").write(text)


if __name__ == "__main__":
    main()
