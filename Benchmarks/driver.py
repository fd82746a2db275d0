#!/usr/bin/env python3
"""`make bench`: Kiln JIT, Kiln interpreter, JAX and hand-written NumPy on the same workloads,
float32, same shapes and batch, interleaved round by round (A B C D A B C D …) after warm-up.
Writes Docs/BENCHMARKS.md, Docs/benchmarks.json and Docs/benchmarks.svg."""
import datetime, json, os, platform, re, statistics, subprocess, sys, tempfile, time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN = os.path.join(ROOT, ".build/release/kiln")
ROUNDS = int(os.environ.get("ROUNDS", "15"))
BLOCK = int(os.environ.get("BLOCK", "3"))
# OpenBLAS worker threads keep spinning for a while after a call (on the order of 0.1 s): the
# next contender must not start before they sleep, or it measures the previous one's spin.
PAUSE = float(os.environ.get("PAUSE", "0.15"))
WARMUP = 3
TMP = tempfile.mkdtemp(prefix="kiln-bench-")
# An empty object cache of its own: every compile time reported is cold, unless a row says
# it was measured again from the cache (the LSTM row: `kiln_cached_compile_ms`).
os.environ["KILN_CACHE_DIR"] = os.path.join(TMP, "cache")


def graph_with_batch(name, batch):
    text = open(os.path.join(ROOT, "Graphs", name + ".kiln")).read()
    lines = []
    for line in text.splitlines():
        if line.strip().startswith("input"):
            line = re.sub(r"\[(\d+)", f"[{batch}", line, count=1)
        line = line.replace("shape=[64, 400]", f"shape=[{batch}, 400]")
        lines.append(line)
    path = os.path.join(TMP, f"{name}_{batch}.kiln")
    open(path, "w").write("\n".join(lines) + "\n")
    return path


class KilnServer:
    """A `kiln bench --serve` process: one timed step per request, on either backend."""

    def __init__(self, path, args):
        self.proc = subprocess.Popen([KILN, "bench", path, *args, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.compile_ms = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"kiln bench failed for {path}")
            if line.startswith("ready"):
                self.compile_ms = float(re.search(r"compile_ms=([\d.]+)", line).group(1))
                self.agree = float(re.search(r"agree=([\d.e+-]+)", line).group(1))
                break

    def step(self, backend):
        self.proc.stdin.write(backend + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline()) / 1000

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    import jax
    import jax.numpy as jnp
    models, train_step, jax_chain, _ = ref.jax_models()
    rng = np.random.default_rng(0)
    results = []

    def jax_train(model, optimizer, params, x, y):
        step = train_step(models[model], optimizer)
        p = [jnp.asarray(w) for w in params]
        state = ([jnp.zeros_like(w) for w in p], [jnp.zeros_like(w) for w in p], 0) if optimizer == "adam" else None
        args = (p, state, jnp.asarray(x), jnp.asarray(y))
        t0 = time.perf_counter()
        compiled = step.lower(*args).compile()
        compile_s = time.perf_counter() - t0
        holder = {"p": p, "s": state}

        def run():
            holder["p"], holder["s"], loss = compiled(holder["p"], holder["s"], args[2], args[3])
            loss.block_until_ready()
        return run, compile_s

    def jax_forward(model, params, x):
        fn = jax.jit(models[model])
        p, xx = [jnp.asarray(w) for w in params], jnp.asarray(x)
        fn(p, xx).block_until_ready()
        return lambda: fn(p, xx).block_until_ready()

    def gemm_only(batch, train):
        shapes = [(batch, 784, 256), (batch, 256, 128), (batch, 128, 10)]
        if train:
            shapes += [(784, batch, 256), (256, batch, 128), (128, batch, 10), (batch, 10, 128), (batch, 128, 256)]
        total = 0.0
        for m, k, n in shapes:
            a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
            total += statistics.median(timed(lambda: a @ b) for _ in range(30))
        return total

    def bench(title, kiln_path, kiln_args, contenders, gemm=None, bytes_per_step=None):
        print(f"== {title}", flush=True)
        server = KilnServer(kiln_path, kiln_args)
        runs = {"Kiln JIT": lambda: server.step("jit"), "Kiln interpreter": lambda: server.step("interp")}
        runs.update(contenders)
        times = {k: [] for k in runs}
        for r in range(WARMUP + ROUNDS):
            for name, fn in runs.items():
                # Let the previous contender's worker threads (OpenBLAS, XLA) stop spinning first,
                # then run a short block: one untimed step to wake this contender's threads, as a
                # training loop keeps them awake, and BLOCK timed steps.
                time.sleep(PAUSE)
                for k in range(1 + BLOCK):
                    t = fn() if name.startswith("Kiln") else timed(fn)
                    if r >= WARMUP and k > 0:
                        times[name].append(t)
        server.close()
        row = {"workload": title, "kiln_compile_ms": server.compile_ms, "kiln_agreement": server.agree,
               "times_s": times, "median_ms": {k: 1000 * statistics.median(v) for k, v in times.items()},
               "min_ms": {k: 1000 * min(v) for k, v in times.items()}, "max_ms": {k: 1000 * max(v) for k, v in times.items()}}
        if gemm is not None:
            row["gemm_only_ms"] = 1000 * gemm
        if bytes_per_step:
            row["jit_gb_per_s"] = bytes_per_step / (row["median_ms"]["Kiln JIT"] / 1000) / 1e9
        for k, v in row["median_ms"].items():
            print(f"   {k:18s} {v:9.3f} ms", flush=True)
        results.append(row)
        return row

    for optimizer in ["sgd", "adam"]:
        for batch in [32, 128, 1024]:
            x = rng.random((batch, 784), dtype=np.float32)
            y = rng.integers(0, 10, batch).astype(np.int32)
            params = ref.mlp_params(rng)
            jrun, jcompile = jax_train("mlp", optimizer, params, x, y)
            npp = [w.copy() for w in params]
            npstate = ([np.zeros_like(w) for w in npp], [np.zeros_like(w) for w in npp], 0) if optimizer == "adam" else None
            holder = {"s": npstate}

            def nprun(npp=npp, holder=holder, x=x, y=y, optimizer=optimizer):
                _, holder["s"], _ = ref.numpy_mlp_step(npp, holder["s"], x, y, optimizer)
            spec = "adam:lr=0.001" if optimizer == "adam" else "sgd:lr=0.01"
            row = bench(f"MLP 784-256-128-10 training step, {optimizer.upper()}, batch {batch}", graph_with_batch("mlp", batch),
                        ["--train", "loss", "--optimizer", spec], {"JAX": jrun, "NumPy": nprun}, gemm=gemm_only(batch, True))
            row["jax_compile_ms"] = 1000 * jcompile

    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 64).astype(np.int32)
    jrun, jcompile = jax_train("lenet5", "adam", ref.lenet_params(rng), x, y)
    row = bench("LeNet-5 training step, Adam, batch 64", os.path.join(ROOT, "Graphs/lenet5.kiln"), ["--train", "loss", "--optimizer", "adam:lr=0.001"], {"JAX": jrun})
    row["jax_compile_ms"] = 1000 * jcompile

    # Convolution backward at scale: ResNet-18 (CIFAR layout, no batch norm), SGD, batch 16.
    x = rng.random((16, 3, 32, 32), dtype=np.float32)
    y16 = rng.integers(0, 10, 16).astype(np.int32)
    jrun, jcompile = jax_train("resnet18", "sgd", ref.resnet18_params(rng), x, y16)
    row = bench("ResNet-18 (32×32, no batch norm) training step, SGD, batch 16", os.path.join(ROOT, "Benchmarks/resnet18_cifar.kiln"),
                ["--train", "loss", "--optimizer", "sgd:lr=0.01"], {"JAX": jrun})
    row["jax_compile_ms"] = 1000 * jcompile

    x = rng.random((64, 28, 28), dtype=np.float32)
    jrun, jcompile = jax_train("lstm", "adam", ref.lstm_params(rng), x, y)
    row = bench("LSTM (128 hidden, 28 steps) training step, Adam, batch 64", os.path.join(ROOT, "Graphs/lstm.kiln"),
                ["--train", "loss", "--optimizer", "adam:lr=0.001"], {"JAX": jrun})
    row["jax_compile_ms"] = 1000 * jcompile
    # The same step compiled again in a new process: its machine code now comes from the cache.
    again = KilnServer(os.path.join(ROOT, "Graphs/lstm.kiln"), ["--train", "loss", "--optimizer", "adam:lr=0.001"])
    again.close()
    row["kiln_cached_compile_ms"] = again.compile_ms
    print(f"   LSTM compile: {row['kiln_compile_ms']:.0f} ms cold, {again.compile_ms:.0f} ms from the cache", flush=True)
    jrun, jcompile = jax_train("transformer", "adam", ref.transformer_params(rng), x, y)
    row = bench("Transformer (1 block, 4 heads, width 64) training step, Adam, batch 64", os.path.join(ROOT, "Graphs/transformer.kiln"),
                ["--train", "loss", "--optimizer", "adam:lr=0.001"], {"JAX": jrun})
    row["jax_compile_ms"] = 1000 * jcompile

    for batch in [1, 64]:
        x = rng.random((batch, 784), dtype=np.float32)
        params = ref.mlp_params(rng)
        bench(f"MLP inference, batch {batch}", graph_with_batch("mlp", batch), [],
              {"JAX": jax_forward("mlp", params, x), "NumPy": lambda p=params, x=x: ref.numpy_mlp_forward(p, x)}, gemm=gemm_only(batch, False))
        xl = rng.random((batch, 1, 28, 28), dtype=np.float32)
        bench(f"LeNet-5 inference, batch {batch}", graph_with_batch("lenet5", batch), [], {"JAX": jax_forward("lenet5", ref.lenet_params(rng), xl)})

    n = 4096 * 4096
    xc = rng.random((4096, 4096), dtype=np.float32) * 4 - 2
    jx = jnp.asarray(xc)
    jax_chain(jx, 0.5, 0.1).block_until_ready()
    bench("Elementwise chain tanh(x·a+b)·sigmoid(x)+relu(x), 16M floats (GB/s at 8 bytes/element)",
          os.path.join(ROOT, "Benchmarks/elementwise_chain.kiln"), [],
          {"JAX": lambda: jax_chain(jx, 0.5, 0.1).block_until_ready(), "NumPy": lambda: ref.numpy_chain(xc, F32(0.5), F32(0.1))},
          bytes_per_step=8 * n)
    bench("Triad y = b + s·c, 16M floats (streaming limit, GB/s at 12 bytes/element)", os.path.join(ROOT, "Benchmarks/triad.kiln"), [],
          {"NumPy": lambda: np.add(xc, np.multiply(xc, F32(0.5)))}, bytes_per_step=12 * n)
    write_report(results, jax.__version__)


F32 = np.float32



def kept_sections(path):
    """Sections of BENCHMARKS.md this script does not measure ("## Compile time", written from
    Benchmarks/compile_time.py; "## Kernels against the machine's limit", from `kiln bench
    --profile`), carried over so a rerun does not erase them."""
    try:
        old = open(path).read().split("\n")
    except OSError:
        return []
    kept, keeping = [], False
    for line in old:
        if line.startswith("## "):
            keeping = line.startswith(("## Compile time", "## Kernels against the machine's limit"))
        if keeping:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return ([""] + kept) if kept else []

def write_report(results, jax_version):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    lines = ["# Benchmarks", "",
             f"Measured {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC on {cpu}, {os.cpu_count()} cores; Kiln (release build, LLVM 14, "
             f"Debian OpenBLAS), JAX {jax_version} (CPU), NumPy {np.__version__} (its own bundled OpenBLAS).",
             f"Command: `make bench` (`Benchmarks/driver.py`): {ROUNDS} timed rounds after {WARMUP} warm-up rounds; each round runs every",
             f"contender in turn (A B C D A B C D …), each for one untimed and {BLOCK} timed steps, so machine noise hits them alike",
             f"and every median is over {ROUNDS * BLOCK} steps. float32, same shapes and batch; both",
             "cores available to everyone. Kiln runs in one `kiln bench --serve` process per workload (OpenBLAS warmed up with one",
             "1024³ sgemm at start-up). Medians in ms, with min–max. `GEMM-only` is the sum of the step's GEMMs timed alone in NumPy.",
             f"Contenders are separated by an untimed {PAUSE * 1000:.0f} ms pause: OpenBLAS and XLA worker threads spin for a while after a call, and",
             "would otherwise steal the next contender's cores.",
             "", "| workload | Kiln JIT | Kiln interpreter | JAX | NumPy | JIT ÷ JAX | GEMM-only ÷ JIT | Kiln compile | JAX compile |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        med, lo, hi = r["median_ms"], r["min_ms"], r["max_ms"]
        cell = lambda k: f"{med[k]:.3f} ({lo[k]:.3f}–{hi[k]:.3f})" if k in med else "—"
        ratio = f"{med['Kiln JIT'] / med['JAX']:.2f}" if "JAX" in med else "—"
        share = f"{r['gemm_only_ms'] / med['Kiln JIT']:.2f}" if "gemm_only_ms" in r else "—"
        lines.append(f"| {r['workload']} | {cell('Kiln JIT')} | {cell('Kiln interpreter')} | {cell('JAX')} | {cell('NumPy')} | {ratio} | {share} | "
                     f"{r['kiln_compile_ms']:.0f} ms | {r.get('jax_compile_ms', float('nan')):.0f} ms |".replace("nan ms", "—"))
    lines += ["", "Streaming: " + ", ".join(f"{r['workload'].split(' (')[0]}: Kiln JIT {r['jit_gb_per_s']:.1f} GB/s" for r in results if "jit_gb_per_s" in r), ""]
    lines += targets(results)
    lines += ["", "Raw timings: `Docs/benchmarks.json`; chart: `Docs/benchmarks.svg` (Kiln JIT ÷ JAX per workload, lower is better).",
              "Per-kernel profile of any step: `kiln bench FILE --train loss --optimizer adam --profile`."]
    lines += kept_sections(os.path.join(ROOT, "Docs/BENCHMARKS.md"))
    open(os.path.join(ROOT, "Docs/BENCHMARKS.md"), "w").write("\n".join(lines) + "\n")
    json.dump(results, open(os.path.join(ROOT, "Docs/benchmarks.json"), "w"), indent=1)
    open(os.path.join(ROOT, "Docs/benchmarks.svg"), "w").write(chart(results))
    print("\n".join(lines))


def find(results, prefix):
    return next((r for r in results if r["workload"].startswith(prefix)), None)


def targets(results):
    out = ["## Targets", ""]
    def line(text, ok):
        out.append(f"- {text}: **{'met' if ok else 'missed'}**")
    for opt in ["SGD", "ADAM"]:
        r = find(results, f"MLP 784-256-128-10 training step, {opt}, batch 128")
        if r and "JAX" in r["median_ms"]:
            m = r["median_ms"]
            line(f"MLP {opt} step, batch 128, ≥1.25× faster than JAX: {m['JAX'] / m['Kiln JIT']:.2f}×", m["JAX"] / m["Kiln JIT"] >= 1.25)
            line(f"  … within 15% of its GEMMs alone: JIT {m['Kiln JIT']:.3f} ms vs GEMM-only {r['gemm_only_ms']:.3f} ms", m["Kiln JIT"] <= 1.15 * r["gemm_only_ms"])
            line(f"  … interpreter within 1.5× of NumPy: {m['Kiln interpreter'] / m['NumPy']:.2f}×", m["Kiln interpreter"] <= 1.5 * m["NumPy"])
    def speedup(prefix, factor, what="JAX", label=None):
        r = find(results, prefix)
        if not r or what not in r["median_ms"]:
            return None
        m = r["median_ms"]
        x = m[what] / m["Kiln JIT"]
        line(f"{label or prefix}: Kiln JIT ≥{factor}× faster than {what}: {x:.2f}×", x >= factor)
        return r
    # Issue 11's targets: every op compiled.
    speedup("LeNet-5 training step", 1.5, label="LeNet-5 Adam step, batch 64")
    speedup("LeNet-5 inference, batch 64", 1.5, label="LeNet-5 inference, batch 64")
    speedup("Transformer", 1.25, label="Transformer training step")
    speedup("MLP 784-256-128-10 training step, ADAM, batch 32", 2, label="MLP Adam step, batch 32")
    r = speedup("LSTM", 4, label="LSTM training step")
    if r:
        line(f"LSTM step compile < 500 ms cold: {r['kiln_compile_ms']:.0f} ms", r["kiln_compile_ms"] < 500)
        if r.get("kiln_cached_compile_ms") is not None:
            line(f"LSTM step compile < 50 ms from the cache: {r['kiln_cached_compile_ms']:.0f} ms", r["kiln_cached_compile_ms"] < 50)
    speedup("LeNet-5 training step", 2, what="Kiln interpreter", label="LeNet-5 step")
    speedup("Transformer", 2, what="Kiln interpreter", label="Transformer step")
    speedup("Elementwise chain", 1.6, label="Elementwise chain")
    return out


def chart(results):
    rows = [r for r in results if "JAX" in r["median_ms"]]
    width, bar = 760, 22
    height = 40 + bar * len(rows) + 30
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           '<rect width="100%" height="100%" fill="white"/>', '<text x="10" y="20" font-size="14">Kiln JIT time ÷ JAX time (lower is better; line at 1)</text>']
    scale = 250 / max(2.0, max(r["median_ms"]["Kiln JIT"] / r["median_ms"]["JAX"] for r in rows))
    for i, r in enumerate(rows):
        y = 36 + i * bar
        v = r["median_ms"]["Kiln JIT"] / r["median_ms"]["JAX"]
        svg.append(f'<text x="10" y="{y + 14}">{r["workload"][:70]}</text>')
        svg.append(f'<rect x="470" y="{y + 3}" width="{v * scale:.1f}" height="{bar - 8}" fill="{"#16a34a" if v < 1 else "#dc2626"}"/>')
        svg.append(f'<text x="{475 + v * scale:.1f}" y="{y + 14}">{v:.2f}</text>')
    svg.append(f'<line x1="{470 + scale:.1f}" y1="30" x2="{470 + scale:.1f}" y2="{height - 20}" stroke="#444" stroke-dasharray="4"/>')
    return "\n".join(svg + ["</svg>"]) + "\n"


if __name__ == "__main__":
    main()
