#!/usr/bin/env python3
"""Tools for the multi-process tests: a small Fashion-MNIST-shaped data set, and comparing
two Kiln checkpoints (safetensors) within a tolerance."""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    body = raw[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        dtype = {"F32": np.float32, "I32": np.int32}[entry["dtype"]]
        tensors[name] = np.frombuffer(body[start:end], dtype=dtype).reshape(entry["shape"])
    return tensors, header.get("__metadata__", {})


def compare(a, b, rtol, atol, only=None):
    ta, ma = read_safetensors(a)
    tb, mb = read_safetensors(b)
    if only:
        ta = {k: v for k, v in ta.items() if k in only}
        tb = {k: v for k, v in tb.items() if k in only}
        # A filter naming a tensor neither file has would compare nothing and pass.
        missing = sorted(set(only) - set(ta) - set(tb))
        if missing:
            print(f"FAIL: no tensor named {missing} in {a} or {b}")
            return 1
    if sorted(ta) != sorted(tb):
        print(f"FAIL: tensors differ: {sorted(ta)} vs {sorted(tb)}")
        return 1
    if not ta:
        print(f"FAIL: no tensors to compare in {a} and {b}")
        return 1
    if ma.get("kiln.steps") != mb.get("kiln.steps"):
        print(f"FAIL: step counts differ: {ma.get('kiln.steps')} vs {mb.get('kiln.steps')}")
        return 1
    worst, worst_name = 0.0, ""
    for name in ta:
        x, y = ta[name].astype(np.float64), tb[name].astype(np.float64)
        if x.shape != y.shape:
            print(f"FAIL: {name}: shapes differ: {x.shape} vs {y.shape}")
            return 1
        # NaN compares false with everything, so `err > worst` would skip it: a non-finite
        # value in either checkpoint is a failure (Kiln never saves one).
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            print(f"FAIL: {name}: non-finite values ({a}: {int(np.sum(~np.isfinite(x)))}, {b}: {int(np.sum(~np.isfinite(y)))})")
            return 1
        err = float(np.max(np.abs(x - y) - rtol * np.abs(y))) if x.size else 0.0
        if err > worst:
            worst, worst_name = err, name
    ok = worst <= atol
    print(f"{'ok' if ok else 'FAIL'}: {len(ta)} tensors after {ma.get('kiln.steps')} steps; "
          f"max(|a-b| - {rtol}*|b|) = {worst:.3g} ({worst_name or '-'}), tolerance atol {atol}")
    return 0 if ok else 1


def make_features(path, n, seed):
    """x f32[n, 3] and labels over 4 classes, for Tests/Distributed/batchnorm.kiln."""
    rng = np.random.default_rng(seed)
    np.savez(path, x=(3 * rng.random((n, 3))).astype(np.float32), labels=rng.integers(0, 4, n).astype(np.int32))


def make_data(path, n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.int32)
    # Class-dependent means, so a few steps move the params in a consistent direction.
    centres = rng.random((10, 784)).astype(np.float32)
    images = (0.6 * centres[labels] + 0.4 * rng.random((n, 784))).astype(np.float32)
    np.savez(path, images=images, labels=labels)


if __name__ == "__main__":
    if sys.argv[1] == "compare":
        only = sys.argv[6].split(",") if len(sys.argv) > 6 else None
        sys.exit(compare(sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), only))
    elif sys.argv[1] == "make-features":
        make_features(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "make-data":
        make_data(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "check":
        tensors, meta = read_safetensors(sys.argv[2])
        bad = [k for k, v in tensors.items() if v.dtype == np.float32 and not np.all(np.isfinite(v))]
        print(f"checkpoint {sys.argv[2]}: {len(tensors)} tensors, epoch {meta.get('kiln.epoch')}, steps {meta.get('kiln.steps')}"
              + (f", non-finite: {bad}" if bad else ""))
        sys.exit(1 if bad else 0)
    else:
        sys.exit(f"usage: {sys.argv[0]} compare A B RTOL ATOL [TENSOR,…] | make-data PATH N SEED | check PATH")
