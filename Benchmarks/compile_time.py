#!/usr/bin/env python3
"""The compile-time curve of Docs/BENCHMARKS.md ("Compile time"): seconds per compiler phase at
several graph sizes, forward and gradient, as Markdown rows.

    python3 Benchmarks/compile_time.py [--kiln .build/release/kiln] [--sizes 2500,5000,10000,20000]
                                      [--kinds chain,mixed] [--timeout 600] [--repeat 1] [--train adam]

Graphs come from Benchmarks/big_graph.py; each size runs `kiln compile-time FILE [--grad loss]`
(parse, verify, infer-shapes, differentiate, simplify, fuse, plan-memory, print; verification
after every pass is summed into `verify`). With `--train OPT` the second row of each size is a
training step (`--train loss --optimizer OPT`, phase `training-step`) instead of a gradient. Each cell is the fastest of `--repeat` runs; on a
shared machine, read the growth from one size to the next rather than single numbers.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import big_graph  # noqa: E402

PHASES = ["parse", "verify", "infer-shapes", "differentiate", "training-step", "simplify", "fuse", "plan-memory", "print"]


def run(kiln, path, grad, timeout, train=None):
    if not grad:
        extra = []
    elif train:
        extra = ["--train", "loss", "--optimizer", train]
    else:
        extra = ["--grad", "loss"]
    command = [kiln, "compile-time", path] + extra
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True).stdout
    except subprocess.TimeoutExpired:
        return None, None
    lines = out.strip().split("\n")
    nodes = lines[0].split(": ", 1)[1].split(" nodes")[0]
    seconds = {}
    for line in lines[1:]:
        phase, value = line.split()[0], float(line.split()[1])
        seconds[phase] = seconds.get(phase, 0.0) + value
    return nodes, seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", default=os.path.join(HERE, "..", ".build", "release", "kiln"))
    parser.add_argument("--sizes", default="2500,5000,10000,20000")
    parser.add_argument("--kinds", default="chain,mixed")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--train", help="optimizer: time training steps instead of gradients")
    args = parser.parse_args()
    print("| graph | nodes | " + " | ".join(PHASES) + " | total |")
    print("|---|---:|" + "---:|" * (len(PHASES) + 1))
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            for grad in (False, True):
                for size in map(int, args.sizes.split(",")):
                    path = os.path.join(tmp, f"{kind}{size}.kiln")
                    with open(path, "w") as f:
                        f.write(big_graph.KINDS[kind](size))
                    nodes, seconds = run(args.kiln, path, grad, args.timeout, args.train)
                    for _ in range(args.repeat - 1):
                        if seconds is None:
                            break
                        _, again = run(args.kiln, path, grad, args.timeout, args.train)
                        seconds = {p: min(v, again.get(p, v)) for p, v in seconds.items()} if again else seconds
                    name = f"{kind} {size}" + ((f" {args.train} step" if args.train else " gradient") if grad else "")
                    if seconds is None:
                        print(f"| {name} | — | " + " | ".join(["—"] * len(PHASES)) + f" | > {args.timeout:.0f} s |")
                        continue
                    cells = [f"{seconds[p]:.3f}" if p in seconds else "—" for p in PHASES]
                    print(f"| {name} | {nodes} | " + " | ".join(cells) + f" | {sum(seconds.values()):.2f} |", flush=True)


if __name__ == "__main__":
    main()
