#!/usr/bin/env python3
"""Small PyTorch modules exercising the ONNX import of issue 25, through Kiln on both backends
against onnxruntime: 3-d convolution and pooling (video models), atrous (large-dilation)
convolution, ConvTranspose 1-d to 3-d with
groups, dilations and output_padding, Einsum, TopK, a UNet-style block (transposed convolution
and bilinear upsampling), and constant subgraphs torch leaves in the graph (a Swin-style
shifted-window mask built with slice assignments: ScatterND, Where, Range on constants).

    torch_cases.py --kiln .build/debug/kiln

Exits 1 on any failure or refusal (nothing is skipped).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kilnrun  # noqa: E402

BACKENDS = ("interp", "jit")


def modules():
    import torch
    from torch import nn
    torch.manual_seed(0)

    class Lambda(nn.Module):
        def __init__(self, f, *layers):
            super().__init__()
            self.layers = nn.ModuleList(layers)
            self.f = f

        def forward(self, *xs):
            return self.f(self.layers, *xs)

    yield "conv3d", nn.Conv3d(3, 5, (3, 3, 3), stride=(1, 2, 2), padding=(1, 1, 1)), (torch.randn(2, 3, 5, 9, 8),)
    yield "conv3d_grouped_dilated", nn.Conv3d(4, 6, (2, 3, 3), stride=2, padding=(0, 2, 1), dilation=(2, 2, 1), groups=2), (torch.randn(1, 4, 7, 10, 9),)
    yield "conv3d_depthwise", nn.Conv3d(4, 4, 3, padding=1, groups=4, bias=False), (torch.randn(1, 4, 4, 6, 6),)
    yield "conv2d_atrous", nn.Conv2d(8, 6, 3, padding=12, dilation=12), (torch.randn(1, 8, 30, 29),)
    yield "conv2d_atrous_strided", nn.Conv2d(4, 5, (3, 2), stride=2, padding=(6, 3), dilation=(6, 7)), (torch.randn(2, 4, 25, 21),)
    yield "conv1d_atrous", nn.Conv1d(3, 4, 3, padding=9, dilation=9), (torch.randn(2, 3, 40),)
    yield "maxpool3d", nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)), (torch.randn(2, 3, 4, 9, 9),)
    yield "maxpool3d_ceil", nn.MaxPool3d(2, stride=2, ceil_mode=True), (torch.randn(1, 2, 5, 7, 6),)
    yield "avgpool3d_pad", nn.AvgPool3d(3, stride=2, padding=1, count_include_pad=False), (torch.randn(1, 2, 5, 7, 6),)
    yield "avgpool3d_adaptive", nn.AdaptiveAvgPool3d(1), (torch.randn(2, 3, 4, 5, 6),)
    yield "convtranspose1d", nn.ConvTranspose1d(3, 4, 5, stride=3, padding=2, output_padding=1, dilation=1), (torch.randn(2, 3, 7),)
    yield "convtranspose2d_grouped", nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2), (torch.randn(1, 4, 5, 6),)
    yield "convtranspose3d", nn.ConvTranspose3d(3, 2, (3, 2, 3), stride=(2, 1, 2), padding=(1, 0, 1), output_padding=(1, 0, 0)), (torch.randn(1, 3, 3, 4, 5),)
    yield "einsum_attention", Lambda(lambda ls, q, k: torch.einsum("bhqd,bhkd->bhqk", q, k).softmax(-1)), (torch.randn(2, 3, 5, 4), torch.randn(2, 3, 6, 4))
    yield "einsum_mixed", Lambda(lambda ls, a, b, c: torch.einsum("ij,jk,k->i", a, b, c) + torch.einsum("bii->bi", a.unsqueeze(0).expand(2, 4, 4)).sum(0)),\
        (torch.randn(4, 4), torch.randn(4, 3), torch.randn(3))
    yield "topk", Lambda(lambda ls, x: torch.cat([torch.topk(x, 3, dim=1).values.flatten(), torch.topk(x, 2, dim=-1, largest=False).values.flatten()])), (torch.randn(4, 7, 5),)
    yield "topk_indices", Lambda(lambda ls, x: torch.topk(x, 4).indices.float()), (torch.randn(3, 9),)

    class UNetBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2))
            self.mid = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.up1 = nn.ConvTranspose2d(16, 8, 2, stride=2)
            self.up2 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            self.out = nn.Conv2d(8 + 8, 2, 1)

        def forward(self, x):
            d = self.down(x)
            u = self.up1(self.mid(d))
            return self.up2(self.out(torch.cat([u, d], 1)))
    yield "unet_block", UNetBlock(), (torch.randn(2, 3, 16, 20),)

    class ShiftedWindowMask(nn.Module):
        """Swin's attention mask: slice assignments on a constant image (ScatterND), windows,
        differences, masked_fill (Where) — all constants once exported."""
        def forward(self, x):
            h, w, ws, shift = 8, 8, 4, 2
            img = torch.zeros(1, h, w, 1)
            cnt = 0
            for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                    img[:, hs, wsl, :] = cnt
                    cnt += 1
            win = img.view(1, h // ws, ws, w // ws, ws, 1).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws)
            mask = win.unsqueeze(1) - win.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
            pad = torch.tensor([[0, 1], [2, 0]]).t().flatten().tolist()
            return (x + mask).softmax(-1), torch.nn.functional.pad(x, pad)
    yield "shifted_window_mask", ShiftedWindowMask(), (torch.randn(4, 16, 16),)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", default=".build/debug/kiln")
    ap.add_argument("--only", help="comma-separated case names")
    args = ap.parse_args()
    import onnxruntime as ort
    import torch
    kiln = os.path.abspath(args.kiln)
    passed, failed = 0, []
    with tempfile.TemporaryDirectory() as root:
        for name, module, xs in modules():
            if args.only and name not in args.only.split(","):
                continue
            work = tempfile.mkdtemp(dir=root)
            path = os.path.join(work, "model.onnx")
            module.eval()
            names = [f"x{i}" for i in range(len(xs))]
            with torch.no_grad():
                torch.onnx.export(module, xs, path, input_names=names, opset_version=17, dynamo=False)
            feeds = {n: x.numpy() for n, x in zip(names, xs)}
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            feeds = {i.name: feeds[i.name] for i in session.get_inputs()}
            reference = session.run(None, feeds)
            problems = []
            try:
                kiln_file = os.path.join(work, "model.kiln")
                ins, outs = kilnrun.kiln_import(kiln, path, kiln_file)
                for backend in BACKENDS:
                    got = kilnrun.kiln_run(kiln, kiln_file, {k: feeds[o] for o, k in ins}, work, backend)
                    for (onnx_name, kiln_name), want in zip(outs, reference):
                        why = kilnrun.compare(want, got[kiln_name], 1e-4, 1e-5)
                        if why:
                            problems.append(f"{backend} {onnx_name}: {why}")
            except (kilnrun.ImportFailure, RuntimeError) as e:
                problems.append(str(e))
            if problems:
                failed.append((name, "; ".join(problems)))
            else:
                passed += 1
    for name, why in failed:
        print(f"FAIL {name}: {why}")
    print(f"torch cases: {passed} pass on both backends against onnxruntime, {len(failed)} fail")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
