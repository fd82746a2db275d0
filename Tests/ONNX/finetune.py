#!/usr/bin/env python3
"""Fine-tunes a PyTorch-exported LeNet-5 in Kiln: export (dynamic batch) → `kiln import --shape`
→ add a loss → `kiln train` one epoch on Fashion-MNIST from the imported weights → `kiln export`
the tuned inference graph → check it against onnxruntime.

    finetune.py --kiln .build/release/kiln [--out .build/onnx-finetune] [--backend jit]

`kiln train` starts from a checkpoint with --resume; the imported weights plus zero optimiser
state make that checkpoint (its state names are read from `kiln dump --train`).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kilnrun  # noqa: E402
import models  # noqa: E402

BATCH = 64
OPTIMIZER = "momentum:lr=0.02,momentum=0.9"


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        dtype = {"F32": np.float32, "I32": np.int32}[v["dtype"]]
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(data[b:e], dtype).reshape(v["shape"])
    return out


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k])
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}[a.dtype]
        header[k] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(path + ".tmp", path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=".build/release/kiln")
    ap.add_argument("--out", default=".build/onnx-finetune")
    ap.add_argument("--backend", default="jit")
    ap.add_argument("--limit", type=int, help="train on the first N examples only (quick check)")
    args = ap.parse_args()
    kiln = os.path.abspath(args.kiln)
    os.makedirs(args.out, exist_ok=True)
    import torch
    model = models.lenet5().eval()
    onnx_path = os.path.join(args.out, "lenet5.onnx")
    with torch.no_grad():
        torch.onnx.export(model, (torch.rand(1, 1, 28, 28),), onnx_path, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
    kiln_file = os.path.join(args.out, "lenet5.kiln")
    kilnrun.kiln_import(kiln, onnx_path, kiln_file, {"input": (BATCH, 1, 28, 28)})
    # The training graph: the imported one plus labels and a loss.
    text = open(kiln_file).read()
    text = re.sub(r"(\n  input input: f32\[64, 1, 28, 28\]\n)", r"\1  input labels: i32[64]\n", text)
    text = text.rstrip().rstrip("}").replace("  output logits\n", "  output logits as logits\n") + "  loss = softmax_cross_entropy(logits, labels)\n  output loss as loss\n}\n"
    train_file = os.path.join(args.out, "lenet5_train.kiln")
    open(train_file, "w").write(text)
    # A checkpoint kiln train can resume from: imported params, zero optimiser state, epoch 0.
    params = read_safetensors(os.path.join(args.out, "lenet5.safetensors"))
    dump = subprocess.run([kiln, "dump", train_file, "--train", "loss", "--optimizer", OPTIMIZER], capture_output=True, text=True, check=True).stdout
    state = dict(params)
    for name, dtype, dims in re.findall(r"^\s*state (\S+): (f32|i32)\[([^\]]*)\]", dump, re.M):
        if name not in state:
            shape = [int(d) for d in dims.split(",")] if dims.strip() else []
            state[name] = np.zeros(shape, np.float32 if dtype == "f32" else np.int32)
    checkpoint = os.path.join(args.out, "lenet5_tuned.safetensors")
    write_safetensors(checkpoint, state, {"kiln.epoch": "0", "kiln.steps": "0"})
    cmd = [kiln, "train", train_file, "--epochs", "1", "--optimizer", OPTIMIZER, "--backend", args.backend,
           "--checkpoint", checkpoint, "--resume"]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(r.stdout + r.stderr, flush=True)
    if r.returncode != 0:
        return 1
    # Back out to ONNX with the tuned weights, and check it against Kiln.
    tuned = os.path.join(args.out, "lenet5_tuned.onnx")
    subprocess.run([kiln, "export", kiln_file, "--params", checkpoint, "-o", tuned], check=True)
    import onnxruntime as ort
    x = np.random.default_rng(3).random((BATCH, 1, 28, 28), dtype=np.float32)
    ort_out = ort.InferenceSession(tuned, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    kiln_out = kilnrun.kiln_run(kiln, kiln_file, {"input": x}, args.out, args.backend, params=checkpoint)["logits"]
    before = read_safetensors(os.path.join(args.out, "lenet5.safetensors"))
    after = read_safetensors(checkpoint)
    moved = max(float(np.abs(after[k] - before[k]).max()) for k in before)
    abs_err, rel_err = kilnrun.errors(ort_out, kiln_out)
    print(f"tuned weights moved by up to {moved:.3g}; tuned model exported to {tuned}: onnxruntime vs Kiln max abs {abs_err:.2e}, max rel {rel_err:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
