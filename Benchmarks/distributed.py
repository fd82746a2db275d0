#!/usr/bin/env python3
"""`make bench-distributed`: data-parallel LeNet-5 on 1 and 2 MPI ranks (one OpenBLAS thread
per rank), the time split between gradients, all-reduce and update, MPI_Allreduce latency and
bandwidth, and a ring all-reduce model of 8–64 workers from those measurements. Rewrites the
section between the bench-distributed markers of Docs/DISTRIBUTED.md (atomically)."""
import datetime, os, re, subprocess, sys, tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN = os.environ.get("KILN", os.path.join(ROOT, ".build/release/kiln"))
BACKEND = os.environ.get("BACKEND", "jit")
STEPS = int(os.environ.get("STEPS", "40"))  # per run, at the 2-rank global batch
BATCH = 64                                  # per rank (LeNet-5's own)
DOC = os.path.join(ROOT, "Docs/DISTRIBUTED.md")
BEGIN, END = "<!-- bench-distributed:begin -->", "<!-- bench-distributed:end -->"
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1", KILN_THREADS="1")
MPIRUN = ["mpirun", "--oversubscribe", "--bind-to", "none"]


def run(args):
    done = subprocess.run(args, env=ENV, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def training(ranks, data):
    out = run(MPIRUN + ["-np", str(ranks), KILN, "train", "Graphs/lenet5.kiln", "--distributed", "--data", data,
                        "--validation", "0", "--epochs", "2", "--backend", BACKEND, "--optimizer", "sgd:lr=0.05"])
    m = re.search(r"distributed: \d+ ranks, global batch (\d+), (\d+) steps, ([\d.]+) ms/step \(gradients ([\d.]+), "
                  r"all-reduce ([\d.]+), update ([\d.]+)\), (\d+) samples/s", out)
    if not m:
        sys.exit(f"no summary line in:\n{out}")
    g = m.groups()
    sent = re.search(r"rank 0 of \d+: \d+ all-reduce bucket\(s\), (\d+) bytes per step", out)
    return dict(bytes=int(sent.group(1)) if sent else 0, ranks=ranks, batch=int(g[0]), steps=int(g[1]), step=float(g[2]), grad=float(g[3]), reduce=float(g[4]),
                update=float(g[5]), samples=float(g[6]))


def allreduce(ranks):
    out = run(MPIRUN + ["-np", str(ranks), KILN, "allreduce-bench", "--repeats", "50",
                        "--sizes", "4,4096,65536,262144,1048576,4194304"])
    rows = [line.split("\t") for line in out.splitlines() if re.match(r"^\d+\t", line)]
    return [(int(r[1]), float(r[2]) * 1e-6, float(r[3]) * 1e-6) for r in rows]


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-dist-")
    data = os.path.join(tmp, "toy.npz")
    n = STEPS * 2 * BATCH
    rng = np.random.default_rng(0)
    np.savez(data, images=rng.random((n, 784), dtype=np.float32), labels=rng.integers(0, 10, n).astype(np.int32))
    one, two = training(1, data), training(2, data)
    sizes = allreduce(2)
    # Least squares t = α + bytes/β over the sizes (min times: the machine is shared).
    x = np.array([s[0] for s in sizes], dtype=float)
    t = np.array([s[2] for s in sizes])
    slope, alpha = np.polyfit(x, t, 1)
    alpha = max(alpha, 1e-6)
    beta = 1 / slope  # bytes/s for 2 ranks, where the ring moves 2(N−1)/N = 1 × bytes per rank
    grad_bytes = two["bytes"]  # LeNet-5's gradients and the loss: what one step all-reduces
    compute = (one["grad"] + one["update"]) * 1e-3

    lines = [BEGIN, "",
             f"Measured {datetime.date.today()} by `make bench-distributed` ({BACKEND} backend, LeNet-5, per-rank batch {BATCH}, "
             f"one OpenBLAS thread per rank, {os.cpu_count()} cores; {grad_bytes} bytes all-reduced per step). **The machine is shared with other engineers' builds, "
             "so these numbers are noisy and pessimistic; rerun on a quiet machine before quoting them.**", "",
             "| ranks | global batch | step (ms) | gradients (ms) | all-reduce (ms) | update (ms) | samples/s |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in (one, two):
        lines.append(f"| {r['ranks']} | {r['batch']} | {r['step']:.2f} | {r['grad']:.2f} | {r['reduce']:.2f} | {r['update']:.2f} | {r['samples']:.0f} |")
    lines += ["", "MPI_Allreduce (float32 sum, in place), 2 ranks on this machine (shared memory); min and mean of 50 calls:", "",
              "| bytes | min (µs) | mean (µs) |", "|---:|---:|---:|"]
    for b, mean, best in sizes:
        lines.append(f"| {b} | {best * 1e6:.1f} | {mean * 1e6:.1f} |")
    lines += ["", f"Fitted: latency α = {alpha * 1e6:.1f} µs, bandwidth β = {beta / 1e9:.2f} GB/s.", "",
              "Model of N workers (ring all-reduce: 2(N−1) latency hops and 2(N−1)/N · bytes per rank; compute per step "
              f"= the 1-rank gradient + update time, {compute * 1e3:.2f} ms; no overlap). Rows with the measured α, β "
              "(shared memory: an upper bound no network reaches), then 10 GbE (α = 20 µs, β = 1.1 GB/s) and 1 GbE "
              "(α = 50 µs, β = 0.11 GB/s), assumed, not measured:", "",
              "| link | N | all-reduce (ms) | step (ms) | samples/s | efficiency |", "|---|---:|---:|---:|---:|---:|"]
    for name, a, bw in (("measured", alpha, beta), ("10 GbE", 20e-6, 1.1e9), ("1 GbE", 50e-6, 0.11e9)):
        for workers in (2, 8, 16, 32, 64):
            ring = 2 * (workers - 1) * a + 2 * (workers - 1) / workers * grad_bytes / bw
            step = compute + ring
            lines.append(f"| {name} | {workers} | {ring * 1e3:.3f} | {step * 1e3:.2f} | {workers * BATCH / step:.0f} | {compute / step:.0%} |")
    lines += ["", END]
    text = open(DOC).read()
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + "\n".join(lines) + text[text.index(END) + len(END):]
    else:
        text += "\n" + "\n".join(lines) + "\n"
    tmpdoc = DOC + ".tmp"
    with open(tmpdoc, "w") as f:
        f.write(text)
    os.replace(tmpdoc, DOC)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
