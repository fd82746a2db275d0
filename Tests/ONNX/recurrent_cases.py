#!/usr/bin/env python3
"""ONNX RNN/GRU/LSTM through Kiln on both backends, against onnxruntime.

1. Hand-built ONNX models (layout 1 against ONNX's reference evaluator, which onnxruntime
   refuses) covering what ONNX's own backend cases do not: every direction,
   layout 1, initial states, peepholes, input_forget, clip, linear_before_reset, non-default
   activations with alpha/beta, and padded batches (sequence_lens shorter than the sequence,
   given as a graph input), W/R/B as initializers (params) and as graph inputs.
2. `nn.LSTM`, `nn.GRU` and `nn.RNN` exports from PyTorch (multi-layer, bidirectional,
   batch_first), as PyTorch users write them.

    recurrent_cases.py --kiln .build/debug/kiln [--no-torch]

Exits 1 on any failure or refusal.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kilnrun  # noqa: E402

BACKENDS = ("interp", "jit")
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def onnx_case(op, steps=5, batch=3, inputs=4, hidden=6, direction="forward", layout=0, initial=False, peepholes=False,
              lengths=None, weights_as_inputs=False, seed=0, **attrs):
    """A model with one recurrent node; returns (model, feeds) with every output wired out."""
    rng = np.random.default_rng(seed)
    dirs = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    x_shape = [steps, batch, inputs] if layout == 0 else [batch, steps, inputs]
    feeds = {"X": rng.standard_normal(x_shape).astype(np.float32)}
    tensors = {"W": rng.standard_normal([dirs, g * hidden, inputs]).astype(np.float32) * 0.5,
               "R": rng.standard_normal([dirs, g * hidden, hidden]).astype(np.float32) * 0.5,
               "B": rng.standard_normal([dirs, 2 * g * hidden]).astype(np.float32) * 0.3}
    names = ["X", "W", "R", "B", "", "", "", ""]
    state_shape = [dirs, batch, hidden] if layout == 0 else [batch, dirs, hidden]
    graph_inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)]
    initializers = []
    for k, v in tensors.items():
        if weights_as_inputs:
            feeds[k] = v
            graph_inputs.append(helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape))
        else:
            initializers.append(numpy_helper.from_array(v, k))
    if lengths is not None:
        names[4] = "L"
        feeds["L"] = np.array(lengths, np.int32)
        graph_inputs.append(helper.make_tensor_value_info("L", TensorProto.INT32, [batch]))
    if initial:
        names[5] = "H0"
        initializers.append(numpy_helper.from_array(rng.standard_normal(state_shape).astype(np.float32), "H0"))
        if op == "LSTM":
            names[6] = "C0"
            initializers.append(numpy_helper.from_array(rng.standard_normal(state_shape).astype(np.float32), "C0"))
    if peepholes:
        names[7] = "P"
        initializers.append(numpy_helper.from_array(rng.standard_normal([dirs, 3 * hidden]).astype(np.float32) * 0.3, "P"))
    while names and names[-1] == "":
        names.pop()
    outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    node = helper.make_node(op, names, outputs, hidden_size=hidden, direction=direction, layout=layout, **attrs)
    graph = helper.make_graph([node], "rec", graph_inputs, [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), feeds


ONNX_CASES = [
    ("lstm_forward", dict(op="LSTM")),
    ("lstm_bidirectional_layout1_initial", dict(op="LSTM", direction="bidirectional", layout=1, initial=True)),
    ("lstm_reverse_peepholes_clip", dict(op="LSTM", direction="reverse", peepholes=True, clip=1.5)),
    ("lstm_input_forget", dict(op="LSTM", input_forget=1)),
    ("lstm_activations", dict(op="LSTM", activations=["HardSigmoid", "LeakyRelu", "ScaledTanh"], activation_alpha=[0.3, 0.1, 0.9], activation_beta=[0.4, 1.2])),
    ("lstm_padded_bidirectional", dict(op="LSTM", direction="bidirectional", lengths=[5, 2, 3], initial=True)),
    ("lstm_weights_as_inputs", dict(op="LSTM", weights_as_inputs=True, direction="bidirectional")),
    ("gru_forward", dict(op="GRU")),
    ("gru_linear_before_reset", dict(op="GRU", linear_before_reset=1, initial=True)),
    ("gru_bidirectional_layout1", dict(op="GRU", direction="bidirectional", layout=1, linear_before_reset=1)),
    ("gru_padded_reverse", dict(op="GRU", direction="reverse", lengths=[1, 5, 4])),
    ("gru_activations_clip", dict(op="GRU", activations=["Sigmoid", "Softsign"], clip=0.8)),
    ("rnn_relu_bidirectional", dict(op="RNN", direction="bidirectional", activations=["Relu", "Tanh"])),
    ("rnn_affine_elu", dict(op="RNN", direction="bidirectional", activations=["Affine", "Elu"], activation_alpha=[0.7, 0.5], activation_beta=[0.1])),
    ("rnn_thresholded_softplus", dict(op="RNN", direction="bidirectional", activations=["ThresholdedRelu", "Softplus"], activation_alpha=[0.2])),
    # ONNX's reference evaluator ignores sequence_lens: padded batches are checked at layout 0.
    ("rnn_layout1_initial", dict(op="RNN", layout=1, initial=True)),
    ("rnn_padded", dict(op="RNN", lengths=[3, 5, 1], initial=True, direction="bidirectional")),
]


def torch_models():
    import torch
    from torch import nn
    torch.manual_seed(0)

    class Classifier(nn.Module):
        def __init__(self, rnn):
            super().__init__()
            self.rnn = rnn
            width = rnn.hidden_size * (2 if rnn.bidirectional else 1)
            self.head = nn.Linear(width, 5)

        def forward(self, x):
            out = self.rnn(x)[0]
            return self.head(out[:, -1] if self.rnn.batch_first else out[-1])

    yield "torch_lstm_2layer_bidirectional", Classifier(nn.LSTM(8, 16, num_layers=2, bidirectional=True, batch_first=True)), torch.randn(4, 7, 8)
    yield "torch_gru_batch_first", Classifier(nn.GRU(8, 12, batch_first=True)), torch.randn(3, 9, 8)
    yield "torch_gru_2layer_bidirectional", Classifier(nn.GRU(8, 12, num_layers=2, bidirectional=True)), torch.randn(6, 2, 8)
    yield "torch_rnn_relu", Classifier(nn.RNN(8, 10, nonlinearity="relu", batch_first=True)), torch.randn(2, 5, 8)


def check(kiln, root, name, path, feeds, reference, rtol, atol):
    work = tempfile.mkdtemp(dir=root)
    kiln_file = os.path.join(work, "model.kiln")
    ins, outs = kilnrun.kiln_import(kiln, path, kiln_file)
    problems = []
    for backend in BACKENDS:
        got = kilnrun.kiln_run(kiln, kiln_file, {k: feeds[o] for o, k in ins}, work, backend)
        for (onnx_name, kiln_name), want in zip(outs, reference):
            why = kilnrun.compare(want, got[kiln_name], rtol, atol)
            if why:
                problems.append(f"{backend} {onnx_name}: {why}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=".build/debug/kiln")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    import onnxruntime as ort
    kiln = os.path.abspath(args.kiln)
    passed, failed = 0, []
    with tempfile.TemporaryDirectory() as root:
        cases = []
        for name, spec in ONNX_CASES:
            model, feeds = onnx_case(**spec)
            path = os.path.join(root, name + ".onnx")
            onnx.save(model, path)
            cases.append((name, path, feeds))
        if not args.no_torch:
            import torch
            for name, module, x in torch_models():
                path = os.path.join(root, name + ".onnx")
                module.eval()
                with torch.no_grad():
                    torch.onnx.export(module, (x,), path, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
                cases.append((name, path, {"x": x.numpy()}))
        for name, path, feeds in cases:
            if "layout1" in name:
                # onnxruntime refuses layout 1 for recurrent ops: ONNX's reference evaluator instead.
                from onnx.reference import ReferenceEvaluator
                reference = ReferenceEvaluator(path).run(None, feeds)
            else:
                reference = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
            try:
                problems = check(kiln, root, name, path, feeds, reference, 1e-4, 1e-5)
            except (kilnrun.ImportFailure, RuntimeError) as e:
                problems = [str(e)]
            if problems:
                failed.append((name, "; ".join(problems)))
            else:
                passed += 1
    for name, why in failed:
        print(f"FAIL {name}: {why}")
    print(f"recurrent: {passed} pass on both backends against onnxruntime, {len(failed)} fail")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
