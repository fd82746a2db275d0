#!/usr/bin/env python3
"""Picks the conformance subset `make test` runs from a full run's results: for every op, the
fastest `--per-op` node cases that passed on both backends (plus a few data-suite models), so
that every imported op keeps a regression check within the test budget.

    make_subset.py .build/onnx-conformance/results.json > Tests/ONNX/conformance_subset.txt
"""
import argparse
import json
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("results")
ap.add_argument("--per-op", type=int, default=2)
ap.add_argument("--max-seconds", type=float, default=3.0, help="skip cases slower than this in the full run")
args = ap.parse_args()
results = json.load(open(args.results))
passing = [r for r in results if all(s == "pass" for s in r["status"].values()) and r["seconds"] <= args.max_seconds]
by_op = defaultdict(list)
for r in passing:
    if r["suite"] == "node" and len(r["ops"]) == 1:
        by_op[r["ops"][0]].append(r)
chosen = set()
for op, cases in by_op.items():
    for r in sorted(cases, key=lambda r: (r["seconds"], r["name"]))[: args.per_op]:
        chosen.add(r["name"])
# Ops only seen in multi-op (expanded) cases, and the data suites' small models.
covered = {op for name in chosen for r in passing if r["name"] == name for op in r["ops"]}
for r in sorted(passing, key=lambda r: r["seconds"]):
    if r["suite"] in ("pytorch-converted", "pytorch-operator", "simple") and sum(1 for n in chosen if n.startswith("test_") and n[5:6].isupper()) < 8:
        chosen.add(r["name"])
    elif set(r["ops"]) - covered:
        chosen.add(r["name"])
        covered |= set(r["ops"])
print("# Conformance cases `make test` runs (Tests/ONNX/make_subset.py over a full `make onnx-conformance`):")
print("# every case here passed on both backends; a failure is a regression.")
for name in sorted(chosen):
    print(name)
