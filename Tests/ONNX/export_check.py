#!/usr/bin/env python3
"""`kiln export` checked against onnxruntime (run by `make test`).

For each model below (Graphs/, and Tests/ONNX/export_math.kiln): `kiln export` writes an ONNX
model; onnxruntime runs it on seeded inputs; `kiln run` runs the original .kiln graph on the same
inputs with the params the model holds (its initializers, passed as --param, so both sides use
exactly the same values).
Every output must agree within rtol 1e-4 plus 1e-5 of the output's largest magnitude. A model
that fails to export, an output missing on either side, or a count mismatch is a failure.

Usage: export_check.py --kiln PATH/TO/kiln
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Inference graphs without random ops (a random op is refused by the exporter, by design), by
# name: Graphs/NAME.kiln, or Tests/ONNX/NAME.kiln for the graphs kept for this check.
MODELS = ["mlp", "lenet5", "autoencoder", "rnn", "lstm", "transformer", "export_math"]


def check(kiln, name, work):
    source = os.path.join(ROOT, "Graphs", name + ".kiln")
    if not os.path.exists(source):
        source = os.path.join(ROOT, "Tests", "ONNX", name + ".kiln")
    model_path = os.path.join(work, name + ".onnx")
    r = subprocess.run([kiln, "export", source, "--seed", "3", "-o", model_path], capture_output=True, text=True)
    if r.returncode != 0:
        return [f"export failed: {r.stderr.strip()}"]
    model = onnx.load(model_path)
    initializers = {t.name for t in model.graph.initializer}
    inputs = [x for x in model.graph.input if x.name not in initializers]
    outputs = [o.name for o in model.graph.output]
    if not outputs:
        return ["the model has no outputs"]
    rng = np.random.default_rng(29)
    feeds, args = {}, []
    for x in inputs:
        t = x.type.tensor_type
        shape = [d.dim_value for d in t.shape.dim]
        if t.elem_type == onnx.TensorProto.FLOAT:
            value = rng.random(shape, dtype=np.float32)
        elif t.elem_type in (onnx.TensorProto.INT32, onnx.TensorProto.INT64):
            value = rng.integers(0, 2, shape).astype(onnx.helper.tensor_dtype_to_np_dtype(t.elem_type))
        else:
            return [f"input '{x.name}' has element type {t.elem_type}, which this check does not feed"]
        feeds[x.name] = value
        path = os.path.join(work, f"{name}.in.{x.name}.npy")
        np.save(path, value.astype(np.int32) if value.dtype == np.int64 else value)
        args += ["--input", f"{x.name}={path}"]
    # The graph's own params and state (other initializers are the exporter's constants).
    with open(source) as f:
        declared = set(re.findall(r"^\s*(?:param|state)\s+([A-Za-z_][\w.]*)\s*:", f.read(), re.M))
    if not declared <= initializers:
        return [f"params missing from the model's initializers: {sorted(declared - initializers)}"]
    for t in model.graph.initializer:
        if t.name not in declared:
            continue
        path = os.path.join(work, f"{name}.param.{t.name}.npy")
        value = numpy_helper.to_array(t)
        np.save(path, value.astype(np.int32) if value.dtype == np.int64 else value)
        args += ["--param", f"{t.name}={path}"]
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    expected = dict(zip(outputs, session.run(outputs, feeds)))
    out_dir = os.path.join(work, name + ".out")
    r = subprocess.run([kiln, "run", source, "--output-dir", out_dir] + args, capture_output=True, text=True)
    if r.returncode != 0:
        return [f"kiln run failed: {r.stderr.strip()}"]
    problems = []
    for output in outputs:
        path = os.path.join(out_dir, output + ".npy")
        if not os.path.exists(path):
            problems.append(f"'{output}': kiln run wrote no {output}.npy")
            continue
        got, want = np.load(path).astype(np.float64), np.asarray(expected[output]).astype(np.float64)
        if got.shape != want.shape:
            problems.append(f"'{output}': shape {got.shape} vs onnxruntime {want.shape}")
            continue
        if not (np.all(np.isfinite(got)) and np.all(np.isfinite(want))):
            problems.append(f"'{output}': non-finite values")
            continue
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        err = np.abs(got - want) - 1e-4 * np.abs(want)
        worst = float(np.max(err)) if err.size else 0.0
        if worst > 1e-5 * max(scale, 1.0):
            problems.append(f"'{output}': differs by up to {worst:.3g} (largest |value| {scale:.3g})")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", required=True)
    args = parser.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory(prefix="kiln-export-check-") as work:
        for name in MODELS:
            problems = check(os.path.abspath(args.kiln), name, work)
            print(f"{'ok' if not problems else 'FAIL'}: {name}" + "".join(f"\n  {p}" for p in problems))
            failures += bool(problems)
    print(f"export check: {len(MODELS) - failures} of {len(MODELS)} exported models agree with onnxruntime")
    return 1 if failures or not MODELS else 0


if __name__ == "__main__":
    sys.exit(main())
