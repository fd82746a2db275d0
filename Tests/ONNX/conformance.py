#!/usr/bin/env python3
"""ONNX backend conformance for Kiln: ONNX's own test cases through `kiln import` + `kiln run`.

Cases: the node cases `onnx.backend.test.case.node.collect_testcases()` generates, the data
shipped under onnx/backend/test/data/ (pytorch-converted, pytorch-operator, simple) and the
`light` real models (input arange(n)/n, expected outputs shipped beside them), each compared
at the tolerances the ONNX suite gives it, on the interpreter and on the JIT.

    conformance.py --kiln .build/debug/kiln                 # every case; rewrites Docs/ONNX.md's table
    conformance.py --kiln … --cases Tests/ONNX/conformance_subset.txt --check   # make test

A case whose import fails with "unsupported op" counts as unsupported; one rejected with a clear
"not supported" message (a float64 input, a training-mode attribute…) as rejected; anything else
— a wrong value, a crash, an unclear error — as failed.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kilnrun  # noqa: E402
import referee  # noqa: E402

ONNX_DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
LIGHT_MODELS = [("test_bvlc_alexnet", "bvlc_alexnet", 1e-3, 1e-7), ("test_densenet121", "densenet121", 2e-3, 1e-7),
                ("test_inception_v1", "inception_v1", 1e-3, 1e-7), ("test_inception_v2", "inception_v2", 1e-3, 1e-7),
                ("test_resnet50", "resnet50", 1e-3, 1e-7), ("test_shufflenet", "shufflenet", 1e-3, 1e-7),
                ("test_squeezenet", "squeezenet", 1e-3, 1e-7), ("test_vgg19", "vgg19", 1e-3, 1e-7),
                ("test_zfnet512", "zfnet512", 1e-3, 1e-7)]
BACKENDS = ("interp", "jit")


@dataclass
class Case:
    name: str
    suite: str
    model: onnx.ModelProto
    data_sets: list
    rtol: float
    atol: float
    ops: list = field(default_factory=list)


def to_array(item):
    if isinstance(item, onnx.TensorProto):
        return numpy_helper.to_array(item)
    if isinstance(item, np.generic):  # a reduced loss comes as a NumPy scalar
        return np.asarray(item)
    return item


def load_cases(wanted: set[str] | None) -> list[Case]:
    cases: list[Case] = []
    from onnx.backend.test.case.node import collect_testcases
    for tc in collect_testcases():
        if wanted is None or tc.name in wanted:
            cases.append(Case(tc.name, "node", tc.model, [([to_array(i) for i in ins], [to_array(o) for o in outs]) for ins, outs in tc.data_sets], tc.rtol, tc.atol))
    for suite in ("pytorch-converted", "pytorch-operator", "simple"):
        for d in sorted(glob.glob(os.path.join(ONNX_DATA, suite, "test_*"))):
            name = os.path.basename(d)
            if wanted is not None and name not in wanted:
                continue
            model = onnx.load(os.path.join(d, "model.onnx"))
            rtol, atol = 1e-3, 1e-7
            if os.path.exists(os.path.join(d, "data.json")):
                meta = json.load(open(os.path.join(d, "data.json")))
                rtol, atol = meta.get("rtol", rtol), meta.get("atol", atol)
            sets = []
            for s in sorted(glob.glob(os.path.join(d, "test_data_set_*"))):
                def read(kind):
                    out = []
                    for i in range(len(glob.glob(os.path.join(s, f"{kind}_*.pb")))):
                        t = onnx.TensorProto()
                        t.ParseFromString(open(os.path.join(s, f"{kind}_{i}.pb"), "rb").read())
                        out.append(numpy_helper.to_array(t))
                    return out
                sets.append((read("input"), read("output")))
            cases.append(Case(name, suite, model, sets, rtol, atol))
    for name, model_name, rtol, atol in LIGHT_MODELS:
        if wanted is not None and name not in wanted:
            continue
        path = os.path.join(ONNX_DATA, "light", f"light_{model_name}.onnx")
        if not os.path.exists(path):
            continue
        model = onnx.load(path)
        inits = {i.name for i in model.graph.initializer}
        inputs = []
        for x in model.graph.input:
            if x.name in inits:
                continue
            shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in x.type.tensor_type.shape.dim)
            n = int(np.prod(shape))
            inputs.append((np.arange(n).reshape(shape) / n).astype(np.float32))
        t = onnx.TensorProto()
        t.ParseFromString(open(os.path.join(ONNX_DATA, "light", f"light_{model_name}_output_0.pb"), "rb").read())
        cases.append(Case(name, "light", model, [(inputs, [numpy_helper.to_array(t)])], rtol, atol))
    for c in cases:
        c.ops = sorted({(n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}") for n in c.model.graph.node})
    return cases


def run_case(case: Case, kiln: str, root: str) -> dict:
    result = {"name": case.name, "suite": case.suite, "ops": case.ops, "status": {}, "reason": "", "seconds": 0.0}
    start = time.time()
    work = tempfile.mkdtemp(dir=root, prefix=case.name[:40] + "-")
    try:
        if not case.data_sets:
            raise kilnrun.ImportFailure("rejected", "the case has no data set")
        for inputs, outputs in case.data_sets:
            if any(not isinstance(x, np.ndarray) for x in inputs + outputs):
                raise kilnrun.ImportFailure("rejected", "non-tensor inputs or outputs (sequences, optionals) are not supported")
            if any(x.size == 0 for x in outputs):
                raise kilnrun.ImportFailure("rejected", "an empty tensor (a dimension of size 0), which Kiln cannot represent")
        model_path = os.path.join(work, "model.onnx")
        onnx.save(case.model, model_path)
        inits = {i.name for i in case.model.graph.initializer}
        graph_inputs = [x for x in case.model.graph.input if x.name not in inits]
        first_inputs = case.data_sets[0][0]
        # zip stops at the shorter list: a count mismatch would silently check fewer values.
        if len(graph_inputs) != len(first_inputs):
            raise RuntimeError(f"{len(graph_inputs)} graph inputs but {len(first_inputs)} test inputs")
        names = [x.name for x in graph_inputs]
        # Inputs whose value decides a shape (axes, k, scales, pads…) are bound at import
        # (`kiln import --bind`) when the importer asks for them, as are empty inputs (an empty
        # axes list), which cannot be Kiln inputs; the case then counts as passing "bound".
        bound = {n for n, v in zip(names, first_inputs) if v.size == 0}

        def import_for(set_index: int):
            inputs = case.data_sets[set_index][0]
            shapes, binds = {}, {}
            for x, value in zip(graph_inputs, inputs):
                if x.name in bound:
                    path = os.path.join(work, f"bind_{set_index}_{names.index(x.name)}.pb")
                    with open(path, "wb") as f:
                        f.write(numpy_helper.from_array(np.asarray(value)).SerializeToString())
                    binds[x.name] = path
                    continue
                dims = x.type.tensor_type.shape.dim
                static = x.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") and d.dim_value > 0 for d in dims)
                if not static and value.ndim > 0:
                    shapes[x.name] = value.shape
            kiln_file = os.path.join(work, f"model_{set_index}.kiln")
            return kiln_file, kilnrun.kiln_import(kiln, model_path, kiln_file, shapes, bindings=binds)

        while True:
            try:
                kiln_file, (in_names, out_names) = import_for(0)
                break
            except kilnrun.ImportFailure as e:
                m = kilnrun.NEEDS_VALUE.search(e.message)
                if e.kind != "rejected" or not m:
                    raise
                if m.group(1) in names and m.group(1) not in bound:
                    bound.add(m.group(1))
                    continue
                # A value computed inside the graph (pads from Shape and a `shape` input): the
                # integer inputs are what shape arithmetic reads; bind them all, once.
                integer = {n for n, v in zip(names, first_inputs) if np.issubdtype(v.dtype, np.integer)} - bound
                if not integer:
                    raise
                bound |= integer
        if bound:
            result["bound"] = sorted(bound)
        imports = [(kiln_file, in_names, out_names)]
        for index in range(1, len(case.data_sets)):
            imports.append((lambda r: (r[0], *r[1]))(import_for(index)) if bound else imports[0])
        for (_, in_names, out_names), (inputs, expected) in zip(imports, case.data_sets):
            if len(in_names) != len(inputs) - len(bound) or len(out_names) != len(expected):
                raise RuntimeError(f"the import has {len(in_names)} inputs and {len(out_names)} outputs; "
                                   f"the data set {len(inputs)} ({len(bound)} bound) and {len(expected)}")
        declared = {}
        for x in graph_inputs:
            dims = x.type.tensor_type.shape.dim
            if x.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                declared[x.name] = tuple(d.dim_value for d in dims)
        for backend in BACKENDS:
            failure = None
            for (kiln_file, in_names, out_names), (inputs, expected) in zip(imports, case.data_sets):
                by_name = dict(zip(names, inputs))
                # A value given as [1] for an input the model declares scalar (or any same-size
                # shape) is fed in the declared shape, as ONNX runtimes accept it.
                feeds = {}
                for o, k in in_names:
                    v = by_name[o]
                    feeds[k] = v.reshape(declared[o]) if o in declared and v.size == int(np.prod(declared[o])) else v
                try:
                    outs = kilnrun.kiln_run(kiln, kiln_file, feeds, work, backend)
                except RuntimeError as e:
                    failure = str(e)
                    break
                truth = None
                for index, ((onnx_name, kiln_name), want) in enumerate(zip(out_names, expected)):
                    got = outs.get(kiln_name)
                    why = "missing output" if got is None else kilnrun.compare(want, got, case.rtol, case.atol)
                    if why and got is not None:
                        # The stored output may be the one off (float32 noise around an exact 0):
                        # ask the float64 referee, and record its verdict either way.
                        truth = truth or referee.float64_outputs(case.model, names, inputs)
                        note = truth and index < len(truth) and referee.rejudge(kilnrun.compare, want, got, truth[index], case.rtol, case.atol)
                        if note:
                            result.setdefault("referee", {})[f"{backend} {onnx_name}"] = f"{why}; {note}"
                            why = None
                    if why:
                        failure = f"output '{onnx_name}': {why}"
                        break
                if failure:
                    break
            result["status"][backend] = "fail" if failure else "pass"
            if failure and not result["reason"]:
                result["reason"] = failure
    except kilnrun.ImportFailure as e:
        kind = {"unsupported": "unsupported", "rejected": "rejected"}.get(e.kind, "fail")
        result["status"] = {b: kind for b in BACKENDS}
        result["reason"] = e.message
    except Exception as e:  # a runner-side problem is a failure too, never a skip
        result["status"] = {b: "fail" for b in BACKENDS}
        result["reason"] = f"{type(e).__name__}: {e}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["seconds"] = round(time.time() - start, 2)
    return result


def markdown(results: list[dict], imported: set[str]) -> str:
    lines = []
    by_suite = defaultdict(lambda: defaultdict(int))
    for r in results:
        for b in BACKENDS:
            by_suite[r["suite"]][(b, r["status"][b])] += 1
        by_suite[r["suite"]]["cases"] += 1
    for r in results:
        if r.get("bound") and r["status"]["interp"] == "pass" and r["status"]["jit"] == "pass":
            by_suite[r["suite"]]["bound"] += 1
    lines.append("| suite | cases | interp pass | interp fail | jit pass | jit fail | unsupported op | rejected (clear error) | passing with inputs bound at import |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    totals = defaultdict(int)
    for suite in ("node", "pytorch-converted", "pytorch-operator", "simple", "light"):
        s = by_suite.get(suite)
        if not s:
            continue
        row = [s["cases"], s[("interp", "pass")], s[("interp", "fail")], s[("jit", "pass")], s[("jit", "fail")],
               s[("interp", "unsupported")], s[("interp", "rejected")], s["bound"]]
        for k, v in zip(range(8), row):
            totals[k] += v
        lines.append(f"| {suite} | " + " | ".join(str(v) for v in row) + " |")
    lines.append("| **all** | " + " | ".join(f"**{totals[k]}**" for k in range(8)) + " |")
    lines.append("")
    lines.append("Per op (a case counts for every op its model uses; node cases mostly use one op):")
    lines.append("")
    lines.append("| op | cases | interp pass | interp fail | jit pass | jit fail | unsupported | rejected |")
    lines.append("|---|---|---|---|---|---|---|---|")
    per_op = defaultdict(lambda: defaultdict(int))
    for r in results:
        for op in r["ops"]:
            per_op[op]["cases"] += 1
            for b in BACKENDS:
                per_op[op][(b, r["status"][b])] += 1
    supported = [op for op in per_op if op in imported]
    for op in sorted(supported):
        s = per_op[op]
        lines.append(f"| {op} | {s['cases']} | {s[('interp', 'pass')]} | {s[('interp', 'fail')]} | {s[('jit', 'pass')]} | {s[('jit', 'fail')]} | {s[('interp', 'unsupported')]} | {s[('interp', 'rejected')]} |")
    unsupported = sorted(op for op in per_op if op not in supported)
    lines.append("")
    lines.append(f"Ops in these cases that Kiln does not import ({len(unsupported)}; a case using one is unsupported, or rejected "
                 "when the runner or the importer stops earlier): " + ", ".join(f"{op} ({per_op[op]['cases']})" for op in unsupported) + ".")
    reasons = defaultdict(int)
    for r in results:
        if r["status"]["interp"] == "rejected":
            text = re.sub(r"^.*?\): ", "", r["reason"].split(".onnx: ")[-1])
            text = re.sub(r"'[^']*'", "'…'", text)
            text = re.sub(r"\[[^\]]*\]|\b\d+\b", "N", text)
            reasons[text[:110]] += 1
    lines.append("")
    lines.append("Most common reasons for rejection (cases):")
    lines.append("")
    for text, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:15]:
        lines.append(f"- {n}: {text}")
    refereed = [r for r in results if r.get("referee") and set(r["status"].values()) == {"pass"}]
    if refereed:
        lines.append("")
        lines.append(f"Passing against the float64 referee ({len(refereed)}): the stored expected output is outside the suite's "
                     "tolerance of the same model evaluated in float64 by ONNX's reference evaluator, and Kiln's output is "
                     "within it (Tests/ONNX/referee.py):")
        lines.append("")
        for r in refereed:
            first = next(iter(r["referee"].items()))
            lines.append(f"- `{r['name']}` ({first[0]}): {first[1][:300]}")
    failing = [r for r in results if "fail" in r["status"].values()]
    lines.append("")
    lines.append(f"Failing cases ({len(failing)}), with the first reason:")
    lines.append("")
    for r in failing:
        lines.append(f"- `{r['name']}` ({r['suite']}; interp {r['status']['interp']}, jit {r['status']['jit']}): {r['reason'][:300]}")
    return "\n".join(lines) + "\n"


def imported_ops(kiln: str) -> set[str]:
    """The op types `kiln import` converts (`kiln import --list-ops`)."""
    out = subprocess.run([kiln, "import", "--list-ops"], capture_output=True, text=True, check=True).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=".build/debug/kiln")
    ap.add_argument("--cases", help="a file listing the case names to run (one per line)")
    ap.add_argument("--check", action="store_true", help="exit 1 unless every case passes on both backends")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", default=".build/onnx-conformance/results.json")
    ap.add_argument("--doc", default="Docs/ONNX.md", help="rewrite the table between the conformance markers (full runs only)")
    ap.add_argument("--match", help="only cases whose name contains this")
    ap.add_argument("--from-json", help="rewrite the Docs table from an earlier run's results instead of running")
    args = ap.parse_args()
    wanted = None
    if args.cases:
        wanted = {line.strip() for line in open(args.cases) if line.strip() and not line.startswith("#")}
    start = time.time()
    results = []
    if args.from_json:
        results = json.load(open(args.from_json))
    else:
        cases = load_cases(wanted)
        if args.match:
            cases = [c for c in cases if args.match in c.name]
        root = tempfile.mkdtemp(prefix="kiln-onnx-conformance-")
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for r in pool.map(lambda c: run_case(c, os.path.abspath(args.kiln), root), cases):
                results.append(r)
                if "fail" in r["status"].values():
                    print(f"FAIL {r['name']}: {r['reason'][:200]}", flush=True)
        shutil.rmtree(root, ignore_errors=True)
    elapsed = time.time() - start if not args.from_json else sum(r["seconds"] for r in results) / max(args.jobs, 1)
    count = lambda b, s: sum(1 for r in results if r["status"][b] == s)
    print(f"{len(results)} cases in {elapsed:.0f} s: interp {count('interp', 'pass')} pass / {count('interp', 'fail')} fail, "
          f"jit {count('jit', 'pass')} pass / {count('jit', 'fail')} fail, {count('interp', 'unsupported')} unsupported, {count('interp', 'rejected')} rejected; "
          f"{sum(1 for r in results if r.get('bound') and set(r['status'].values()) == {'pass'})} of the passing cases with inputs bound at import (--bind)")
    if not args.from_json:
        os.makedirs(os.path.dirname(args.json), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if not args.cases and not args.match and args.doc:
        text = open(args.doc).read()
        begin, end = "<!-- conformance:begin -->", "<!-- conformance:end -->"
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            _, tail = rest.split(end, 1)
            stamp = f"Run: {time.strftime('%Y-%m-%d', time.gmtime())}, onnx {onnx.__version__}, {len(results)} cases, {elapsed:.0f} s on {os.cpu_count()} cores.\n\n"
            tmp = args.doc + ".tmp"
            with open(tmp, "w") as f:
                f.write(head + begin + "\n" + stamp + markdown(results, imported_ops(args.kiln)) + end + tail)
            os.replace(tmp, args.doc)
    if args.check:
        bad = [r for r in results if any(s != "pass" for s in r["status"].values())]
        missing = (wanted or set()) - {r["name"] for r in results}
        if bad or missing:
            for r in bad:
                print(f"not passing: {r['name']}: {r['reason'][:200]}")
            for m in sorted(missing):
                print(f"case not found: {m}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
