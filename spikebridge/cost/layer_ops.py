"""Multiplications and additions of a module's synaptic layers, by forward hooks.

Per output element of a layer with fan-in K (a convolution's C_in k^2, a linear layer's
inputs), the convention of AdderNet's tables:

* ``nn.Conv2d`` / ``nn.Linear``: K multiplications and K additions (the accumulation and,
  with a bias, its addition counted as one of the K);
* ``AdderConv2d`` / ``AdderLinear``: 2 K additions (K subtractions, K accumulations of the
  absolute values) and no multiplication.

Batch norm, activations and pooling are not counted (as in the paper's tables).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ..torch.adder import AdderConv2d, AdderLinear


def _fan_in(module: nn.Module) -> int:
    weight = module.weight
    assert isinstance(weight, Tensor)
    return math.prod(weight.shape[1:])


def layer_operations(net: nn.Module, input_shape: tuple[int, ...]) -> dict[str, Any]:
    """Per synaptic layer and in total, ``mul`` and ``add`` for one input of
    ``input_shape`` (without the batch axis)."""
    layers: dict[str, dict[str, int]] = {}
    hooks = []

    def hook(name: str) -> Any:
        def record(module: nn.Module, args: Any, output: Tensor) -> None:
            outputs = output[0].numel()
            k = _fan_in(module)
            adder = isinstance(module, AdderConv2d | AdderLinear)
            layers[name] = {
                "outputs": outputs,
                "fan_in": k,
                "mul": 0 if adder else k * outputs,
                "add": (2 if adder else 1) * k * outputs,
            }

        return record

    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d | nn.Linear | AdderConv2d | AdderLinear):
            hooks.append(module.register_forward_hook(hook(name)))
    training = net.training
    net.eval()
    try:
        with torch.no_grad():
            parameter = next(net.parameters())
            net(torch.zeros((1, *input_shape), dtype=parameter.dtype))
    finally:
        net.train(training)
        for handle in hooks:
            handle.remove()
    return {
        "layers": layers,
        "mul": sum(v["mul"] for v in layers.values()),
        "add": sum(v["add"] for v in layers.values()),
    }
