#!/usr/bin/env python3
"""make models-check: re-run the rows of Docs/MODELS.md marked `quick` and compare accuracies.

Every Markdown table in the document whose header has the columns `command`, `result` and
`check` is read; a row whose check cell says `quick` is run: the first `kiln train ...` command
in backticks, with `kiln` replaced by --kiln, from the repository root. Its last epoch line's
`test accuracy` is compared with the first `test accuracy X` in the result cell (bold allowed):
the check fails when the measurement is more than --points (1) points below the table.
Exit status 0 when every quick row is within bounds, 1 otherwise (also when no row is quick,
when a command fails, or when its output has no test accuracy).
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import time

ACCURACY_IN_TABLE = re.compile(r"test accuracy \**([0-9]*\.[0-9]+)")
ACCURACY_IN_OUTPUT = re.compile(r"test accuracy ([0-9]*\.[0-9]+)")


def cells(line):
    # Split a Markdown row on pipes that are neither escaped (\|, GFM's way to write one in a
    # cell) nor inside backticks.
    parts, current, code, previous = [], "", False, ""
    for ch in line.strip().strip("|"):
        if ch == "`":
            code = not code
        if ch == "|" and not code and previous != "\\":
            parts.append(current.strip())
            current = ""
        else:
            current += ch
        previous = ch
    parts.append(current.strip())
    return parts


def quick_rows(text):
    rows, header = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            header = None
            continue
        row = cells(line)
        if header is None:
            header = [c.lower() for c in row]
            continue
        if all(set(c) <= set("-: ") for c in row):
            continue
        if not {"command", "result", "check"} <= set(header) or len(row) != len(header):
            continue
        entry = dict(zip(header, row))
        if "quick" not in entry["check"]:
            continue
        command = re.search(r"`(kiln train [^`]*)`", entry["command"])
        expected = ACCURACY_IN_TABLE.search(entry["result"])
        rows.append((number, entry.get("model", row[0]), command and command.group(1), expected and float(expected.group(1))))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiln", required=True, help="the kiln binary to run")
    parser.add_argument("--doc", default="Docs/MODELS.md", help="the results document (default Docs/MODELS.md)")
    parser.add_argument("--points", type=float, default=1.0, help="allowed drop in accuracy points, in [0, 100] (default 1)")
    args = parser.parse_args()
    if not (0 <= args.points <= 100):
        sys.exit(f"models-check: --points must be in [0, 100], got {args.points}")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(args.doc, encoding="utf-8") as f:
        rows = quick_rows(f.read())
    if not rows:
        print(f"models-check: no row of {args.doc} is marked quick")
        return 1
    failures = 0
    for line, model, command, expected in rows:
        where = f"{args.doc}:{line}"
        if command is None or expected is None:
            print(f"FAIL {where} {model}: the row needs a `kiln train ...` command and a 'test accuracy X' result")
            failures += 1
            continue
        argv = [args.kiln] + shlex.split(command)[1:]
        start = time.monotonic()
        run = subprocess.run(argv, cwd=root, capture_output=True, text=True)
        seconds = time.monotonic() - start
        epochs = [l for l in run.stdout.splitlines() if l.startswith("epoch ")]
        found = ACCURACY_IN_OUTPUT.search(epochs[-1]) if epochs else None
        if run.returncode != 0 or found is None:
            print(f"FAIL {where} {model}: `{command}` exited {run.returncode} without a test accuracy\n{run.stderr[-2000:]}")
            failures += 1
            continue
        measured = float(found.group(1))
        ok = measured >= expected - args.points / 100
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {where} {model}: test accuracy {measured:.4f} (table {expected:.4f}, "
              f"allowed ≥ {expected - args.points / 100:.4f}), {seconds:.0f} s")
    print(f"models-check: {len(rows) - failures} of {len(rows)} quick rows within {args.points:g} point(s) of {args.doc}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
