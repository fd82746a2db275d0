#!/usr/bin/env python3
"""Checks of the float64 referee (referee.py): it lets a value through only when the stored
output is the one off, never a wrong one; and it widens models or refuses them as documented.
Run by make test (onnx-check); exits 1 on any failed check."""
from __future__ import annotations

import os
import sys

import numpy as np
import onnx
from onnx import helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kilnrun  # noqa: E402
import referee  # noqa: E402

failures = []


def check(condition: bool, what: str) -> None:
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


truth = np.array([1.0, 0.0, -2.0])
noisy = np.array([1.0, 2e-7, -2.0], np.float32)     # stored output off by more than atol at the exact 0
exact = np.array([1.0, 3e-15, -2.0], np.float32)    # Kiln: within atol of the truth
wrong = np.array([1.0, 3e-15, -2.1], np.float32)    # outside rtol of the truth
rtol, atol = 1e-3, 1e-7
check(referee.rejudge(kilnrun.compare, noisy, exact, truth, rtol, atol) is not None, "stored output off, Kiln right: passes against the referee")
check(referee.rejudge(kilnrun.compare, noisy, wrong, truth, rtol, atol) is None, "stored output off, Kiln wrong elsewhere: still fails")
check(referee.rejudge(kilnrun.compare, exact, noisy, truth, rtol, atol) is None, "stored output right: the referee is not asked to overrule it")
check(referee.rejudge(kilnrun.compare, noisy, exact, truth[:2], rtol, atol) is None, "a referee of another shape decides nothing")

x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3])
y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [3])
w = onnx.numpy_helper.from_array(np.array([1, 2, 3], np.float32), "w")
mul = helper.make_model(helper.make_graph([helper.make_node("Mul", ["x", "w"], ["y"])], "g", [x], [y], [w]))
wide = referee.widened(mul)
check(wide is not None and wide.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
      and wide.graph.initializer[0].data_type == onnx.TensorProto.DOUBLE, "float32 inputs and initializers widen to float64")
out = referee.float64_outputs(mul, ["x"], [np.array([0.1, 0.2, 0.3], np.float32)])
check(out is not None and out[0].dtype == np.float64 and np.allclose(out[0], [0.1, 0.4, 0.9], rtol=1e-7), "the widened model runs in float64")
cast = helper.make_model(helper.make_graph([helper.make_node("Cast", ["x"], ["y"], to=onnx.TensorProto.FLOAT)], "g", [x], [y]))
check(referee.widened(cast) is None, "a model with a Cast is refused (it could compute in float32 again)")

print(f"{len(failures)} failed" if failures else "referee: all checks pass")
sys.exit(1 if failures else 0)
