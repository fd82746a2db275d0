#!/usr/bin/env python3
"""Builds the tiny .onnx files of Tests/KilnONNXTests/Models with the onnx helper API.

Run once (the files are committed); `swift test` reads them, it never runs Python.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "KilnONNXTests", "Models")
rng = np.random.default_rng(0)


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, name, inputs, outputs, [numpy_helper.from_array(v, k) for k, v in inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="kiln-tests")
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


os.makedirs(OUT, exist_ok=True)
# Gemm (transB, alpha) + Relu: the MLP layer.
save("gemm_relu",
     [helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="fc", transB=1, alpha=0.5),
      helper.make_node("Relu", ["h"], ["y"], name="act")],
     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
     [("w", f32(4, 3)), ("b", f32(4))])
# Conv with asymmetric pads + BatchNormalization + MaxPool + GlobalAveragePool + Flatten.
save("conv_bn_pool",
     [helper.make_node("Conv", ["x", "w", "cb"], ["c"], name="conv", pads=[1, 0, 0, 1], strides=[1, 1]),
      helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["n"], name="bn", epsilon=1e-5),
      helper.make_node("MaxPool", ["n"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
      helper.make_node("GlobalAveragePool", ["p"], ["g"], name="gap"),
      helper.make_node("Flatten", ["g"], ["y"], name="flat")],
     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
     [("w", f32(3, 2, 3, 3)), ("cb", f32(3)), ("scale", f32(3)), ("bias", f32(3)), ("mean", f32(3)),
      ("var", np.abs(f32(3)) + 0.5)])
# A dynamic batch and a Shape → Gather → Unsqueeze → Concat → Reshape chain folded at import.
save("dynamic_reshape",
     [helper.make_node("Shape", ["x"], ["s"], name="shape"),
      helper.make_node("Gather", ["s", "zero"], ["n"], name="batch", axis=0),
      helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsq"),
      helper.make_node("Concat", ["n1", "minus1"], ["target"], name="cat", axis=0),
      helper.make_node("Reshape", ["x", "target"], ["y"], name="reshape")],
     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 4])],
     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 12])],
     [("zero", np.array(0, np.int64)), ("axes0", np.array([0], np.int64)), ("minus1", np.array([-1], np.int64))])
# An op Kiln does not import (Det; Einsum, the earlier example, imports since issue 25).
save("unsupported_op",
     [helper.make_node("Det", ["a"], ["y"], name="determinant")],
     [helper.make_tensor_value_info("a", TensorProto.FLOAT, [3, 3])],
     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
# Depthwise convolution with stride 2 and SAME padding, then a transformer-style LayerNorm + Gelu.
save("depthwise_layernorm",
     [helper.make_node("Conv", ["x", "w"], ["c"], name="dw", group=4, strides=[2, 2], auto_pad="SAME_UPPER"),
      helper.make_node("LayerNormalization", ["c", "g", "b"], ["n"], name="ln", axis=-1),
      helper.make_node("Gelu", ["n"], ["y"], name="gelu")],
     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 7, 7])],
     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4, 4])],
     [("w", f32(4, 1, 3, 3)), ("g", f32(4)), ("b", f32(4))], opset=20)
print("wrote", sorted(os.listdir(OUT)))
