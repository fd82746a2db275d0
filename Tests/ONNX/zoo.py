#!/usr/bin/env python3
"""torchvision's classification, segmentation and video models (random weights, randomised
batch-norm statistics, nothing downloaded) plus recurrent classifiers and a UNet, exported with
PyTorch's TorchScript exporter (opset 17), imported with `kiln import`, run on Kiln's
interpreter and JIT and on onnxruntime with the same random input. For each: whether it
imports (or the import's one-line refusal), the worst error of each backend against
onnxruntime, and the median time of the Kiln JIT and of onnxruntime (same process, interleaved
rounds; `kiln bench --serve` times the JIT).

    zoo.py --kiln .build/release/kiln [--models resnet18,swin_t] [--rounds 5]

Writes .build/onnx-zoo/zoo.json and rewrites the table between the zoo markers of
Docs/ONNX.md. Exits 1 when a model that imports disagrees with onnxruntime.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kilnrun  # noqa: E402
from models import randomize_batch_norm  # noqa: E402

RTOL, ATOL = 1e-3, 1e-4
CLASSIFICATION = ["alexnet", "vgg11", "resnet18", "resnet50", "squeezenet1_0", "densenet121", "googlenet", "shufflenet_v2_x1_0",
                  "mobilenet_v2", "mobilenet_v3_small", "mnasnet0_5", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny",
                  "swin_t", "maxvit_t", "vit_b_16"]
SEGMENTATION = ["fcn_resnet50", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large"]
VIDEO = ["r3d_18", "mc3_18", "r2plus1d_18"]
OTHER = ["unet", "lstm_classifier", "gru_classifier"]
DEFAULT = CLASSIFICATION + SEGMENTATION + VIDEO + OTHER


def build(name: str):
    import torch
    import torchvision
    from torch import nn
    torch.manual_seed(0)
    if name in SEGMENTATION:
        return getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None), torch.rand(1, 3, 224, 224)
    if name in VIDEO:
        return getattr(torchvision.models.video, name)(weights=None), torch.rand(1, 3, 8, 112, 112)
    if name == "unet":
        return UNet(), torch.rand(1, 3, 128, 128)
    if name in ("lstm_classifier", "gru_classifier"):
        rnn = nn.LSTM if name.startswith("lstm") else nn.GRU

        class TextClassifier(nn.Module):
            """Embedding, 2-layer bidirectional recurrent net, last step → 4 classes."""
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(1000, 64)
                self.rnn = rnn(64, 128, num_layers=2, bidirectional=True, batch_first=True)
                self.head = nn.Linear(256, 4)

            def forward(self, tokens):
                return self.head(self.rnn(self.embed(tokens))[0][:, -1])
        return TextClassifier(), torch.randint(0, 1000, (8, 40))
    return getattr(torchvision.models, name)(weights=None), torch.rand(1, 3, 224, 224)


def UNet():
    import torch
    from torch import nn

    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

    class Net(nn.Module):
        """A 4-level UNet: max-pool down, ConvTranspose up on one path and bilinear Upsample on
        the other, skip connections."""
        def __init__(self, c=16):
            super().__init__()
            self.d1, self.d2, self.d3, self.mid = block(3, c), block(c, 2 * c), block(2 * c, 4 * c), block(4 * c, 8 * c)
            self.up3 = nn.ConvTranspose2d(8 * c, 4 * c, 2, stride=2)
            self.u3 = block(8 * c, 4 * c)
            self.up2 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            self.u2 = block(4 * c + 2 * c, 2 * c)
            self.up1 = nn.Upsample(scale_factor=2, mode="nearest")
            self.u1 = block(2 * c + c, c)
            self.out = nn.Conv2d(c, 2, 1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            a = self.d1(x)
            b = self.d2(self.pool(a))
            c = self.d3(self.pool(b))
            m = self.mid(self.pool(c))
            y = self.u3(torch.cat([self.up3(m), c], 1))
            y = self.u2(torch.cat([self.up2(y), b], 1))
            y = self.u1(torch.cat([self.up1(y), a], 1))
            return self.out(y)
    return Net()


def export(name: str, path: str):
    import torch
    model, example = build(name)
    randomize_batch_norm(model)
    model.eval()

    class Out(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            y = self.m(x)
            return y["out"] if isinstance(y, dict) else y
    with torch.no_grad():
        torch.onnx.export(Out(model), (example,), path, input_names=["input"], output_names=["output"], opset_version=17, dynamo=False)
    return example.numpy(), sum(p.numel() for p in model.parameters())


def time_jit(kiln: str, kiln_file: str, params: str, rounds: int) -> list[float]:
    """Median-ready JIT step times (ms) from `kiln bench --serve` on the imported weights."""
    p = subprocess.Popen([kiln, "bench", kiln_file, "--params", params, "--serve", "--warmup", "0", "--steps", "1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stdout:
            if line.startswith("ready"):
                break
        else:
            raise RuntimeError("kiln bench --serve ended early: " + p.stderr.read()[-300:])
        times = []
        for _ in range(rounds + 1):
            p.stdin.write("jit\n")
            p.stdin.flush()
            times.append(float(p.stdout.readline()))
        return times[1:]
    finally:
        p.stdin.close()
        p.wait(timeout=60)


def run_model(kiln: str, name: str, out: str, rounds: int) -> dict:
    import onnxruntime as ort
    row = {"model": name}
    onnx_path = os.path.join(out, f"{name}.onnx")
    example, params = export(name, onnx_path)
    row["params"] = int(params)
    rng = np.random.default_rng(1)
    x = example if example.dtype != np.float32 else rng.random(example.shape, dtype=np.float32)
    row["input"] = "×".join(str(d) for d in x.shape)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    reference = session.run(None, feed)[0]
    kiln_file = os.path.join(out, f"{name}.kiln")
    start = time.time()
    try:
        inputs, outputs = kilnrun.kiln_import(kiln, onnx_path, kiln_file)
    except kilnrun.ImportFailure as e:
        row["imports"] = False
        row["reason"] = re.sub(r"^error: \S+: ", "", e.message)
        return row
    row["imports"] = True
    row["import_s"] = round(time.time() - start, 2)
    row["reference_max_abs"] = float(np.abs(reference).max())
    for backend in ("interp", "jit"):
        got = kilnrun.kiln_run(kiln, kiln_file, {inputs[0][1]: x.astype(np.int32) if x.dtype.kind == "i" else x}, out, backend)[outputs[0][1]]
        abs_err, rel_err = kilnrun.errors(reference, got)
        row[backend] = {"max_abs": abs_err, "max_rel": rel_err, "ok": kilnrun.compare(reference, got, RTOL, ATOL) is None}
    weights = os.path.splitext(kiln_file)[0] + ".safetensors"
    kiln_ms, ort_ms = [], []
    jit_times = time_jit(kiln, kiln_file, weights, rounds)
    for _ in range(rounds + 1):
        t0 = time.perf_counter()
        session.run(None, feed)
        ort_ms.append((time.perf_counter() - t0) * 1000)
    kiln_ms = jit_times
    row["kiln_ms"] = float(np.median(kiln_ms))
    row["ort_ms"] = float(np.median(ort_ms[1:]))
    return row


def markdown(rows: list[dict], rounds: int) -> str:
    import onnxruntime as ort
    lines = [f"Run: {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} shared cores (not idle: other work ran; times indicate, "
             f"they are not benchmarks), onnxruntime {ort.__version__} CPU provider; Kiln JIT median of {rounds} steps of `kiln bench --serve` "
             f"on the imported weights, onnxruntime median of {rounds} runs. Errors against onnxruntime; agree = within atol {ATOL} + rtol {RTOL}.",
             "",
             "| model | input | params | imports | interp agrees (max abs / rel) | JIT agrees (max abs / rel) | Kiln JIT ms | onnxruntime ms | Kiln ÷ ORT |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if not r.get("imports"):
            lines.append(f"| {r['model']} | {r.get('input', '')} | {r.get('params', 0) / 1e6:.1f} M | no: {r.get('reason', '')[:160]} | | | | | |")
            continue
        cells = []
        for b in ("interp", "jit"):
            v = r[b]
            cells.append(f"{'yes' if v['ok'] else 'NO'} ({v['max_abs']:.1e} / {v['max_rel']:.1e})")
        lines.append(f"| {r['model']} | {r['input']} | {r['params'] / 1e6:.1f} M | yes ({r['import_s']:.1f} s) | {cells[0]} | {cells[1]} | "
                     f"{r['kiln_ms']:.1f} | {r['ort_ms']:.1f} | {r['kiln_ms'] / max(r['ort_ms'], 1e-9):.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=".build/release/kiln")
    ap.add_argument("--models", default=",".join(DEFAULT))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=".build/onnx-zoo")
    ap.add_argument("--doc", default="Docs/ONNX.md")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows, ok = [], True
    for name in args.models.split(","):
        try:
            row = run_model(os.path.abspath(args.kiln), name, args.out, args.rounds)
        except Exception as e:  # a runner-side failure is a failure, never a skip
            row = {"model": name, "imports": False, "reason": f"{type(e).__name__}: {e}"[:300], "failed": True}
            ok = False
        if row.get("imports"):
            ok &= row["interp"]["ok"] and row["jit"]["ok"]
        rows.append(row)
        print(json.dumps(row), flush=True)
        for suffix in (".onnx", ".safetensors"):
            path = os.path.join(args.out, name + suffix)
            if os.path.exists(path):
                os.remove(path)
    with open(os.path.join(args.out, "zoo.json"), "w") as f:
        json.dump(rows, f, indent=1)
    if args.doc and os.path.exists(args.doc):
        text = open(args.doc).read()
        begin, end = "<!-- zoo:begin -->\n", "<!-- zoo:end -->"
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            _, tail = rest.split(end, 1)
            with open(args.doc + ".tmp", "w") as f:
                f.write(head + begin + markdown(rows, args.rounds) + end + tail)
            os.replace(args.doc + ".tmp", args.doc)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
