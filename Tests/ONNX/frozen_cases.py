#!/usr/bin/env python3
"""ONNX backend node cases that decide shapes from graph inputs, with those inputs frozen.

ONNX's node cases feed Resize's scales, TopK's k, CumSum's axis or ScatterND's indices as graph
inputs; Kiln's shapes are static, so the conformance run counts them as rejected. Here the
inputs that decide a shape (every input but the data for Resize/Upsample, integer inputs for
the others) become initializers, float64 data becomes float32 (Kiln has no f64; the tolerance
is the suite's), and the cases run on both backends against the suite's expected outputs.

1. The node cases of --ops (default: Resize, Upsample, TopK, Einsum, CumSum, ScatterND,
   GatherND, Range).
2. `F.interpolate` exports from PyTorch (nearest, bilinear and bicubic with and without
   align_corners, scale factors and sizes) against onnxruntime (skipped with --no-torch).

    frozen_cases.py --kiln .build/debug/kiln [--ops Resize,TopK] [--no-torch]

Exits 1 on any failure. A case the import refuses (a clear "not supported") is listed, not
counted as a pass.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kilnrun  # noqa: E402

BACKENDS = ("interp", "jit")


def frozen_node_cases(wanted: set[str]):
    from onnx.backend.test.case.node import collect_testcases
    for tc in collect_testcases():
        ops = {n.op_type for n in tc.model.graph.node}
        if not ops & wanted or len(tc.data_sets) != 1:
            continue
        # Only single-op models: a Cast or CastLike inside would change meaning with f64 → f32.
        if len(ops) != 1:
            continue
        model = onnx.ModelProto()
        model.CopyFrom(tc.model)
        inputs, outputs = tc.data_sets[0]
        if any(not isinstance(v, np.ndarray) or v.size == 0 or v.dtype in (np.float16,) or v.dtype.kind in "USO" for v in list(inputs) + list(outputs)):
            continue
        keep, feeds = [], []
        resize = bool(ops & {"Resize", "Upsample"})
        for i, (x, value) in enumerate(zip(list(model.graph.input), inputs)):
            value = np.asarray(value)
            if value.dtype == np.float64:
                value = value.astype(np.float32)
            decides_shape = (i > 0) if resize else (i > 0 and value.dtype.kind in "iub")
            if decides_shape:
                model.graph.initializer.append(numpy_helper.from_array(value, x.name))
                continue
            if x.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE:
                x.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
            keep.append(x)
            feeds.append(value)
        for y in model.graph.output:
            if y.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE:
                y.type.tensor_type.elem_type = onnx.TensorProto.FLOAT
        del model.graph.input[:]
        model.graph.input.extend(keep)
        expected = [np.asarray(o).astype(np.float32) if np.asarray(o).dtype == np.float64 else o for o in outputs]
        yield tc.name, model, feeds, expected, tc.rtol, max(tc.atol, 1e-6)


def torch_cases():
    import torch
    import torch.nn.functional as F

    class Interp(torch.nn.Module):
        def __init__(self, **kw):
            super().__init__()
            self.kw = kw

        def forward(self, x):
            return F.interpolate(x, **kw_for(self.kw))

    def kw_for(kw):
        return kw

    x = torch.rand(2, 3, 7, 9)
    specs = [
        ("nearest_x2", dict(scale_factor=2, mode="nearest")),
        ("nearest_size", dict(size=(10, 5), mode="nearest")),
        ("bilinear_x2", dict(scale_factor=2, mode="bilinear", align_corners=False)),
        ("bilinear_align", dict(size=(13, 17), mode="bilinear", align_corners=True)),
        ("bilinear_down", dict(size=(4, 5), mode="bilinear", align_corners=False)),
        ("bicubic_x2", dict(scale_factor=2, mode="bicubic", align_corners=False)),
        ("bicubic_align", dict(size=(5, 12), mode="bicubic", align_corners=True)),
    ]
    for name, kw in specs:
        yield f"torch_{name}", Interp(**kw), x


def run_model(kiln, model_path, feeds_by_onnx, work):
    kiln_file = os.path.join(work, "model.kiln")
    ins, outs = kilnrun.kiln_import(kiln, model_path, kiln_file)
    results = {}
    for backend in BACKENDS:
        got = kilnrun.kiln_run(kiln, kiln_file, {k: feeds_by_onnx[o] for o, k in ins}, work, backend)
        results[backend] = [got[k] for _, k in outs]
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=".build/debug/kiln")
    ap.add_argument("--no-torch", action="store_true", help="only the ONNX node cases")
    ap.add_argument("--ops", default="Resize,Upsample,TopK,Einsum,CumSum,ScatterND,GatherND,Range")
    ap.add_argument("--jobs", type=int, default=2, help="node cases run at once")
    args = ap.parse_args()
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1, got {args.jobs}")
    kiln = os.path.abspath(args.kiln)
    passed, failed, refused = 0, [], []
    with tempfile.TemporaryDirectory() as root:
        def node_case(case):
            """("pass" | "refused" | "fail", message) for one frozen node case."""
            name, model, inputs, expected, rtol, atol = case
            work = tempfile.mkdtemp(dir=root)
            path = os.path.join(work, "model.onnx")
            onnx.save(model, path)
            try:
                results = run_model(kiln, path, {x.name: v for x, v in zip(model.graph.input, inputs)}, work)
            except kilnrun.ImportFailure as e:
                return ("refused" if e.kind in ("rejected", "unsupported") else "fail"), e.message
            except RuntimeError as e:
                return "fail", str(e)
            why = [f"{b} output {i}: {w}" for b in BACKENDS for i, want in enumerate(expected)
                   for w in [kilnrun.compare(want, results[b][i], rtol, atol)] if w]
            return ("fail", "; ".join(why)) if why else ("pass", "")

        # Cases are independent (a directory and kiln processes each): two at once on 2 cores.
        node_cases = list(frozen_node_cases(set(args.ops.split(","))))
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = list(pool.map(node_case, node_cases))
        for case, (outcome, message) in zip(node_cases, outcomes):
            if outcome == "pass":
                passed += 1
            else:
                (refused if outcome == "refused" else failed).append((case[0], message))
        if not args.no_torch:
            import onnxruntime as ort
            import torch
            for name, module, x in torch_cases():
                work = tempfile.mkdtemp(dir=root)
                path = os.path.join(work, "model.onnx")
                with torch.no_grad():
                    torch.onnx.export(module, (x,), path, input_names=["x"], output_names=["y"], opset_version=18, dynamo=False)
                feed = x.numpy()
                reference = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": feed})[0]
                try:
                    results = run_model(kiln, path, {"x": feed}, work)
                except (kilnrun.ImportFailure, RuntimeError) as e:
                    failed.append((name, str(e)))
                    continue
                why = [f"{b}: {w}" for b in BACKENDS for w in [kilnrun.compare(reference, results[b][0], 1e-4, 1e-5)] if w]
                if why:
                    failed.append((name, "; ".join(why)))
                else:
                    passed += 1
    for name, why in refused:
        print(f"refused  {name}: {why}")
    for name, why in failed:
        print(f"FAIL     {name}: {why}")
    print(f"frozen cases: {passed} pass on both backends, {len(failed)} fail, {len(refused)} refused with a clear error")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
