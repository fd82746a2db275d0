"""Running ONNX models through the `kiln` command: import, feed .npy inputs, run, read outputs.

Shared by the conformance runner (conformance.py), the model comparisons (models.py) and the
ONNX benchmarks (Benchmarks/onnx_bench.py).
"""
from __future__ import annotations

import os
import re
import subprocess

import numpy as np

# Import errors that mean "Kiln does not do this" (stated clearly), as opposed to a bug.
UNSUPPORTED_OP = re.compile(r"unsupported op")
REJECTED = re.compile(
    r"not supported|does not support|Kiln supports|cannot represent|does not read|must be known at import time"
    r"|is not a tensor|Kiln has f32 and i32|only .* supported|opset \d+ is not supported|no shape in the model"
    r"|is unknown: give|Kiln needs every dimension")


class ImportFailure(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind  # "unsupported", "rejected" or "error"
        self.message = message


# The importer's refusal of a graph input where a value must be known at import time.
NEEDS_VALUE = re.compile(r"\(input '([^']*)'\) must be known at import time")


def kiln_import(kiln: str, model_path: str, out_kiln: str, shapes: dict[str, tuple] | None = None, timeout: float = 300,
                bindings: dict[str, str] | None = None):
    """Runs `kiln import` (bindings: input name → .npy/.pb file for --bind); returns (inputs,
    outputs) as lists of (onnx name, kiln name)."""
    cmd = [kiln, "import", model_path, "-o", out_kiln]
    for name, dims in (shapes or {}).items():
        cmd += ["--shape", f"{name}=" + "x".join(str(d) for d in dims)]
    for name, path in (bindings or {}).items():
        cmd += ["--bind", f"{name}={path}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        message = (r.stderr.strip() or r.stdout.strip()).splitlines()[-1] if (r.stderr.strip() or r.stdout.strip()) else f"exit {r.returncode}"
        if r.returncode < 0 or "Fatal error" in r.stderr:
            raise ImportFailure("error", f"kiln import crashed (signal {-r.returncode}): {message}")
        kind = "unsupported" if UNSUPPORTED_OP.search(message) else "rejected" if REJECTED.search(message) else "error"
        raise ImportFailure(kind, message)
    inputs, outputs = [], []
    with open(out_kiln) as f:
        for line in f:
            if not line.startswith("#"):
                break
            for key, target in (("# inputs: ", inputs), ("# outputs: ", outputs)):
                if line.startswith(key) and line[len(key):].strip():
                    for pair in line[len(key):].strip().split(", "):
                        onnx_name, kiln_name = pair.split(" → ")
                        target.append((onnx_name, kiln_name))
    return inputs, outputs


def as_kiln_array(a: np.ndarray) -> np.ndarray:
    """An input array in a dtype `kiln run` reads (float32, int32, or int64 narrowed)."""
    if a.dtype == np.float32 or a.dtype == np.int32 or a.dtype == np.int64:
        return a
    if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
        return a.astype(np.int32)
    if a.dtype == np.float64:
        return a.astype(np.float32)
    raise TypeError(f"input dtype {a.dtype} is not supported by Kiln")


def kiln_run(kiln: str, kiln_file: str, feeds: dict[str, np.ndarray], workdir: str, backend: str, timeout: float = 600,
             params: str | None = None) -> dict[str, np.ndarray]:
    """Runs the imported graph on one backend (params: the import's checkpoint unless given);
    returns its outputs by Kiln name."""
    out_dir = os.path.join(workdir, "out_" + backend)
    cmd = [kiln, "run", kiln_file, "--backend", backend, "--output-dir", out_dir]
    weights = params or os.path.splitext(kiln_file)[0] + ".safetensors"
    if os.path.exists(weights):
        cmd += ["--params", weights]
    for name, value in feeds.items():
        path = os.path.join(workdir, f"in_{len(cmd)}.npy")
        # (np.ascontiguousarray would turn a 0-d scalar into shape (1,).)
        np.save(path, as_kiln_array(np.array(value, order="C")))
        cmd += ["--input", f"{name}={path}"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        lines = (r.stderr.strip() or r.stdout.strip() or f"exit {r.returncode}").splitlines()
        raise RuntimeError(f"kiln run --backend {backend} failed: {lines[-1] if lines else r.returncode}")
    outputs = {}
    for entry in os.listdir(out_dir):
        if entry.endswith(".npy"):
            outputs[entry[:-4]] = np.load(os.path.join(out_dir, entry))
    return outputs


def compare(expected: np.ndarray, actual: np.ndarray, rtol: float, atol: float) -> str | None:
    """None when `actual` matches `expected` as ONNX's backend tests require, else why not."""
    expected = np.asarray(expected)
    if expected.shape != actual.shape:
        return f"shape {actual.shape}, expected {expected.shape}"
    if expected.dtype == np.bool_ or np.issubdtype(expected.dtype, np.integer):
        if not np.array_equal(expected.astype(np.int64), actual.astype(np.int64)):
            bad = int(np.sum(expected.astype(np.int64) != actual.astype(np.int64)))
            return f"{bad} of {expected.size} integer elements differ"
        return None
    e, a = expected.astype(np.float64), actual.astype(np.float64)
    ok = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        err = np.abs(a - e)
        err[np.isnan(err)] = np.inf
        i = np.unravel_index(np.argmax(np.where(ok, 0, err)), e.shape)
        return f"{int((~ok).sum())} of {e.size} elements outside rtol={rtol} atol={atol}; worst at {tuple(int(k) for k in i)}: {a[i]!r} vs {e[i]!r}"
    return None


def errors(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Max absolute and max relative error (relative to max(|expected|, 1e-6))."""
    e, a = np.asarray(expected, np.float64), np.asarray(actual, np.float64)
    d = np.abs(a - e)
    return float(d.max(initial=0)), float((d / np.maximum(np.abs(e), 1e-6)).max(initial=0))
