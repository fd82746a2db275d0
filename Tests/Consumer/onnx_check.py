#!/usr/bin/env python3
"""The consumer's ONNX export against onnxruntime: FashionPredict wrote fashion_cnn.onnx
(Model.exportONNX), 256 test images and Kiln's probabilities for them; onnxruntime must give
the same probabilities (within 1e-5) and the same class for every image.

Usage: onnx_check.py DIR
"""
import os
import sys

import numpy as np
import onnxruntime as ort

work = sys.argv[1]
session = ort.InferenceSession(os.path.join(work, "fashion_cnn.onnx"), providers=["CPUExecutionProvider"])
images = np.load(os.path.join(work, "sample_images.npy"))
expected = np.load(os.path.join(work, "sample_probabilities.npy"))
batch = session.get_inputs()[0].shape[0]
outputs = [o.name for o in session.get_outputs()]
if "probabilities" not in outputs:
    sys.exit(f"onnx check: the exported model has no 'probabilities' output ({outputs})")
rows = []
for start in range(0, len(images), batch):
    chunk = images[start:start + batch]
    (p,) = session.run(["probabilities"], {session.get_inputs()[0].name: chunk})
    rows.append(p[:len(chunk)])
got = np.concatenate(rows)
worst = float(np.abs(got - expected).max())
flips = int((got.argmax(1) != expected.argmax(1)).sum())
print(f"onnxruntime vs Kiln on {len(images)} images: max |Δp| {worst:.2e}, {flips} classes differ")
if worst > 1e-5 or flips:
    sys.exit("onnx check: FAIL")
