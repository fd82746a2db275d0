#!/usr/bin/env python3
"""`make bench` (ONNX part): ResNet-18 and MobileNetV2 (PyTorch exports, random weights) at batch
1 and 8 — Kiln JIT against onnxruntime CPU in the same run, interleaved round by round after
warm-up; also `kiln import` time and the JIT's compile time. Rewrites the table between the
bench markers of Docs/ONNX.md and writes Docs/onnx_benchmarks.json.

Needs the ONNX venv (onnx, onnxruntime, torch, torchvision): `make bench` prepares it.
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
sys.path.insert(0, os.path.join(ROOT, "Tests", "ONNX"))
import driver  # noqa: E402  (KilnServer: `kiln bench --serve`)
import kilnrun  # noqa: E402
import models  # noqa: E402

KILN = os.environ.get("KILN", os.path.join(ROOT, ".build/release/kiln"))
ROUNDS = int(os.environ.get("ROUNDS", "15"))
WARMUP = 3
PAUSE = float(os.environ.get("PAUSE", "0.15"))
WORKLOADS = [("resnet18", 1), ("resnet18", 8), ("mobilenet_v2", 1), ("mobilenet_v2", 8)]


def run_workload(name, batch, tmp):
    import onnxruntime as ort
    onnx_path = os.path.join(tmp, f"{name}_{batch}.onnx")
    x = models.export(name, onnx_path, batch=batch)
    kiln_file = os.path.join(tmp, f"{name}_{batch}.kiln")
    start = time.perf_counter()
    kilnrun.kiln_import(KILN, onnx_path, kiln_file)
    import_s = time.perf_counter() - start
    driver.KILN = KILN
    server = driver.KilnServer(kiln_file, ["--warmup", "0", "--steps", "1"])
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    # onnxruntime pinned as Kiln pins its threads: the worker threads each to a CPU of their own
    # (onnxruntime's intra-op affinities, 1-based), the calling thread to the first CPU while it runs.
    cpus = sorted(os.sched_getaffinity(0))
    options = ort.SessionOptions()
    options.intra_op_num_threads = len(cpus)
    if len(cpus) > 1:
        options.add_session_config_entry("session.intra_op_thread_affinities", ";".join(str(c + 1) for c in cpus[1:]))
    pinned = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}

    def run_pinned():
        os.sched_setaffinity(0, {cpus[0]})
        try:
            t = time.perf_counter()
            pinned.run(None, feed)
            return (time.perf_counter() - t) * 1000
        finally:
            os.sched_setaffinity(0, set(cpus))

    for _ in range(WARMUP):
        server.step("jit")
        session.run(None, feed)
        run_pinned()
    kiln_ms, ort_ms, pinned_ms = [], [], []
    for _ in range(ROUNDS):
        time.sleep(PAUSE)
        kiln_ms.append(server.step("jit") * 1000)
        time.sleep(PAUSE)
        t = time.perf_counter()
        session.run(None, feed)
        ort_ms.append((time.perf_counter() - t) * 1000)
        time.sleep(PAUSE)
        pinned_ms.append(run_pinned())
    server.close()
    return {"model": name, "batch": batch, "import_ms": import_s * 1000, "compile_ms": server.compile_ms,
            "kiln_jit_ms": statistics.median(kiln_ms), "onnxruntime_ms": statistics.median(ort_ms),
            "onnxruntime_pinned_ms": statistics.median(pinned_ms),
            "kiln_jit_min_ms": min(kiln_ms), "onnxruntime_min_ms": min(ort_ms), "onnxruntime_pinned_min_ms": min(pinned_ms)}


def table(rows):
    lines = ["| model | batch | Kiln JIT median ms | onnxruntime median ms (default · pinned) | Kiln ÷ faster ORT | "
             "minima ms (Kiln · ORT · pinned) | kiln import ms | JIT compile ms |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        best = min(r["onnxruntime_ms"], r["onnxruntime_pinned_ms"])
        lines.append(f"| {r['model']} | {r['batch']} | {r['kiln_jit_ms']:.2f} | {r['onnxruntime_ms']:.2f} · {r['onnxruntime_pinned_ms']:.2f} | "
                     f"{r['kiln_jit_ms'] / best:.2f} | {r['kiln_jit_min_ms']:.2f} · {r['onnxruntime_min_ms']:.2f} · "
                     f"{r['onnxruntime_pinned_min_ms']:.2f} | {r['import_ms']:.0f} | {r['compile_ms']:.0f} |")
    return "\n".join(lines) + "\n"


def main():
    import onnxruntime
    tmp = tempfile.mkdtemp(prefix="kiln-onnx-bench-")
    rows = []
    for name, batch in WORKLOADS:
        rows.append(run_workload(name, batch, tmp))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    stamp = (f"Run: {time.strftime('%Y-%m-%d', time.gmtime())}, {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, onnxruntime {onnxruntime.__version__} (CPU provider: default threads, and "
             f"pinned as Kiln pins its own — workers to a CPU each, the caller to another while it runs), "
             f"{ROUNDS} interleaved rounds after {WARMUP} warm-up; Kiln ÷ the faster onnxruntime median; "
             f"import time includes process start.\n\n")
    doc = os.path.join(ROOT, "Docs", "ONNX.md")
    text = open(doc).read()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        with open(doc + ".tmp", "w") as f:
            f.write(head + begin + "\n" + stamp + table(rows) + end + tail)
        os.replace(doc + ".tmp", doc)
    with open(os.path.join(ROOT, "Docs", "onnx_benchmarks.json.tmp"), "w") as f:
        json.dump(rows, f, indent=1)
    os.replace(os.path.join(ROOT, "Docs", "onnx_benchmarks.json.tmp"), os.path.join(ROOT, "Docs", "onnx_benchmarks.json"))


if __name__ == "__main__":
    main()
