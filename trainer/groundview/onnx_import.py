"""Loads the weights of an exported classifier back from its ONNX file into a SmallResNet.

The export folds each BatchNorm into the convolution before it (eval mode, constant folding),
so the ONNX file holds, per convolution, a weight and a bias. They are put back exactly: the
convolution gets the folded weight and its BatchNorm becomes the identity plus that bias
(running mean 0, running variance 1 - eps, scale 1). In eval mode the model then computes what
the ONNX file computes; it is for evaluating or re-exporting a shipped model (for example at
another input size) when its PyTorch checkpoint is gone, not for further training (in train
mode a BatchNorm uses batch statistics).
"""
from __future__ import annotations

from pathlib import Path

import onnx
import torch
from onnx import numpy_helper


def load_folded_onnx(model: torch.nn.Module, path: Path | str, example_size: int) -> torch.nn.Module:
    """Fills `model` (a SmallResNet-shaped module whose convolutions are each followed by a
    BatchNorm2d, with a final Linear head) from the ONNX file at `path`."""
    g = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    convs = [n for n in g.node if n.op_type == "Conv"]
    gemms = [n for n in g.node if n.op_type == "Gemm"]

    order: list[torch.nn.Module] = []
    hooks = [m.register_forward_hook(lambda m, i, o: order.append(m)) for m in model.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, example_size, example_size))
    for h in hooks:
        h.remove()
    pairs = [(order[i], order[i + 1]) for i in range(len(order)) if isinstance(order[i], torch.nn.Conv2d)]
    if len(convs) > len(pairs) and any(o.name == "grid" for o in g.output):
        # A classifier with the terrain grid output (export_terrain_grid.py): its own trunk runs
        # first, the grid head's convolutions after it.
        convs = convs[:len(pairs)]
    if len(pairs) != len(convs) or any(not isinstance(bn, torch.nn.BatchNorm2d) for _, bn in pairs):
        raise ValueError(f"{path}: {len(convs)} ONNX convolutions for {len(pairs)} conv+BatchNorm pairs in the model")
    with torch.no_grad():
        for (conv, bn), node in zip(pairs, convs):
            w, b = inits[node.input[1]], inits[node.input[2]]
            if tuple(w.shape) != tuple(conv.weight.shape):
                raise ValueError(f"{path}: convolution {node.name} has shape {w.shape}, the model {tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(w))
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(b))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
        heads = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        if len(gemms) != 1 or len(heads) != 1:
            raise ValueError(f"{path}: expected one Gemm and one Linear head")
        node, head = gemms[0], heads[0]
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        w = inits[node.input[1]]
        head.weight.copy_(torch.from_numpy(w if trans_b else w.T))
        head.bias.copy_(torch.from_numpy(inits[node.input[2]]))
    return model.eval()
