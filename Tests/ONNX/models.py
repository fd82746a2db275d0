#!/usr/bin/env python3
"""Real models through Kiln: PyTorch (CPU, random weights, nothing downloaded) exports an MLP,
LeNet-5, ResNet-18, MobileNetV2 and a small transformer encoder to ONNX; each is imported with
`kiln import` and run on Kiln's interpreter and JIT and on onnxruntime with the same inputs.

    models.py --kiln .build/release/kiln [--models mlp,lenet5,…] [--out .build/onnx-models]

Prints (and writes as JSON) the max absolute / relative error of each backend against
onnxruntime, and exits 1 when any exceeds the tolerance (atol 1e-4 + rtol 1e-3, as numpy
allclose).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kilnrun  # noqa: E402

RTOL, ATOL = 1e-3, 1e-4


def build(name: str):
    """The PyTorch module and its example input (batch 1 unless said otherwise)."""
    import torch
    from torch import nn
    torch.manual_seed(0)
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)), torch.rand(8, 1, 28, 28)
    if name == "lenet5":
        return lenet5(), torch.rand(8, 1, 28, 28)
    if name == "resnet18":
        import torchvision
        return torchvision.models.resnet18(weights=None), torch.rand(1, 3, 224, 224)
    if name == "mobilenet_v2":
        import torchvision
        return torchvision.models.mobilenet_v2(weights=None), torch.rand(1, 3, 224, 224)
    if name == "transformer":
        return TransformerClassifier(), torch.rand(4, 28, 28)
    raise ValueError(name)


def randomize_batch_norm(model):
    """Untrained batch norms are the identity (mean 0, variance 1, scale 1, shift 0) and
    torchvision zero-initialises some; random statistics make them, and the comparison, count."""
    import torch
    g = torch.Generator().manual_seed(2)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)


def lenet5():
    from torch import nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _transformer_class():
    import torch
    from torch import nn

    class TransformerClassifier(nn.Module):
        """Rows of a 28×28 image as 28 tokens: embedding, positions, 2 encoder layers (GELU), mean pool."""
        def __init__(self, d=64, heads=4, layers=2):
            super().__init__()
            self.embed = nn.Linear(28, d)
            self.pos = nn.Parameter(torch.randn(1, 28, d) * 0.02)
            layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=128, dropout=0.1, activation="gelu", batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, 10)

        def forward(self, x):
            h = self.encoder(self.embed(x) + self.pos)
            return self.head(self.norm(h).mean(dim=1))
    return TransformerClassifier


def TransformerClassifier():
    return _transformer_class()()


def export(name: str, path: str, batch: int | None = None):
    import torch
    model, example = build(name)
    randomize_batch_norm(model)
    if batch is not None:
        example = example[:1].repeat(batch, *([1] * (example.dim() - 1)))
    model.eval()
    # The fused fast path (aten::_transformer_encoder_layer_fwd) has no ONNX export.
    torch.backends.mha.set_fastpath_enabled(False)
    with torch.no_grad():
        try:
            torch.onnx.export(model, (example,), path, input_names=["input"], output_names=["logits"], opset_version=17, dynamo=False)
        except TypeError:
            torch.onnx.export(model, (example,), path, input_names=["input"], output_names=["logits"], opset_version=17)
    return example.numpy()


def compare_model(kiln: str, name: str, out: str, backends=("interp", "jit")) -> dict:
    import onnxruntime as ort
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, f"{name}.onnx")
    x = export(name, onnx_path)
    rng = np.random.default_rng(1)
    x = rng.random(x.shape, dtype=np.float32)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    reference = session.run(None, {session.get_inputs()[0].name: x})[0]
    kiln_file = os.path.join(out, f"{name}.kiln")
    start = time.time()
    inputs, outputs = kilnrun.kiln_import(kiln, onnx_path, kiln_file)
    row = {"model": name, "input": list(x.shape), "import_s": round(time.time() - start, 2)}
    for backend in backends:
        got = kilnrun.kiln_run(kiln, kiln_file, {inputs[0][1]: x}, out, backend)[outputs[0][1]]
        abs_err, rel_err = kilnrun.errors(reference, got)
        row[backend] = {"max_abs": abs_err, "max_rel": rel_err, "ok": kilnrun.compare(reference, got, RTOL, ATOL) is None}
    row["reference_max_abs"] = float(np.abs(reference).max())
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=".build/release/kiln")
    ap.add_argument("--models", default="mlp,lenet5,resnet18,mobilenet_v2,transformer")
    ap.add_argument("--out", default=".build/onnx-models")
    args = ap.parse_args()
    rows, ok = [], True
    for name in args.models.split(","):
        row = compare_model(os.path.abspath(args.kiln), name, args.out)
        rows.append(row)
        ok &= all(row[b]["ok"] for b in ("interp", "jit"))
        print(f"{name:13s} input {row['input']}  |onnxruntime| ≤ {row['reference_max_abs']:.3g}  import {row['import_s']:.2f} s  " + "  ".join(
            f"{b}: max abs {row[b]['max_abs']:.2e} max rel {row[b]['max_rel']:.2e} {'ok' if row[b]['ok'] else 'FAIL'}" for b in ("interp", "jit")), flush=True)
    with open(os.path.join(args.out, "comparison.json"), "w") as f:
        json.dump(rows, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
