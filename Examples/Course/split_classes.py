#!/usr/bin/env python3
"""Splits Fashion-MNIST by class for the transfer-learning recipes (numpy only).

  first5.npz       classes 0-4 (T-shirt, trouser, pullover, dress, coat): every training image,
                   test arrays x_test / labels_test of the same classes
  last5_small.npz  classes 5-9 (sandal, shirt, sneaker, bag, ankle boot) relabelled 0-4: the first
                   N training images (default 500), every test image of those classes

Arrays: x f32[N, 784] in [0, 1], labels i32[N] (named like the inputs of transfer_source.kiln).
Usage: python3 Examples/Course/split_classes.py OUTDIR [N_SMALL]
"""
import gzip, os, sys
import numpy as np

SRC = "/usr/share/datasets/fashion-mnist"

def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)

def load(prefix):
    x = idx(f"{SRC}/{prefix}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0
    y = idx(f"{SRC}/{prefix}-labels-idx1-ubyte.gz").astype(np.int32)
    return x, y

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "out/course"
    n_small = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    os.makedirs(out, exist_ok=True)
    xtr, ytr = load("train")
    xte, yte = load("t10k")
    lo_tr, lo_te = ytr < 5, yte < 5
    np.savez(f"{out}/first5.npz", x=xtr[lo_tr], labels=ytr[lo_tr],
             x_test=xte[lo_te], labels_test=yte[lo_te])
    hi_tr, hi_te = ~lo_tr, ~lo_te
    np.savez(f"{out}/last5_small.npz", x=xtr[hi_tr][:n_small], labels=ytr[hi_tr][:n_small] - 5,
             x_test=xte[hi_te], labels_test=yte[hi_te] - 5)
    print(f"{out}/first5.npz: {lo_tr.sum()} train, {lo_te.sum()} test; "
          f"{out}/last5_small.npz: {n_small} train (classes {np.bincount(ytr[hi_tr][:n_small] - 5).tolist()}), {hi_te.sum()} test")

if __name__ == "__main__":
    main()
