"""NIR's operator nodes as torch functions on ``[batch, *shape]`` tensors.

NIR shapes exclude the batch dimension. Every operator is affine: a linear map plus a
constant (the bias of ``Affine`` and of the convolutions), so a chain of operators between
two neuron nodes is one projection (its linear part) and a bias onto the target (its value
at zero input). ``Delay`` is the identity here: a delay is a property of the projection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InputError

#: operator node types (NIR class names) this module applies
OPERATORS = (
    "Affine",
    "Linear",
    "Scale",
    "Flatten",
    "Conv1d",
    "Conv2d",
    "SumPool2d",
    "AvgPool2d",
    "Delay",
)
#: operators whose linear part has trainable weights
WEIGHTED = ("Affine", "Linear", "Conv1d", "Conv2d")


def _tensor(value: Any, like: Tensor) -> Tensor:
    return torch.as_tensor(np.asarray(value), dtype=like.dtype, device=like.device)


def ints(value: Any, n: int) -> tuple[int, ...]:
    """NIR's stride, dilation or kernel size (one value or ``n``) as ``n`` ints."""
    values = np.atleast_1d(np.asarray(value)).astype(np.int64).tolist()
    if len(values) == 1:
        values = values * n
    if len(values) != n:
        raise InputError(f"expected {n} values, got {values}")
    return tuple(int(v) for v in values)


def padding_of(value: Any, n: int) -> tuple[int, ...] | str:
    """NIR's padding: ``n`` ints, or torch's ``'same'``/``'valid'``."""
    return value if isinstance(value, str) else ints(value, n)


def _dim(nir_dim: int) -> int:
    """A NIR dimension (without batch) as a torch dimension of ``[batch, *shape]``."""
    return nir_dim + 1 if nir_dim >= 0 else nir_dim


def apply(node: Any, x: Tensor, *, bias: bool = True) -> Tensor:
    """The operator ``node`` on ``x`` ``[batch, *shape]``; ``bias=False``: its linear part."""
    kind = type(node).__name__
    if kind in ("Delay", "Input", "Output"):
        return x
    if kind in ("Affine", "Linear"):
        weight = _tensor(node.weight, x)
        b = _tensor(node.bias, x) if kind == "Affine" and bias else None
        return F.linear(x, weight, b)
    if kind == "Scale":
        return x * _tensor(node.scale, x)
    if kind == "Flatten":
        return torch.flatten(x, _dim(int(node.start_dim)), _dim(int(node.end_dim)))
    if kind in ("Conv1d", "Conv2d"):
        n = 1 if kind == "Conv1d" else 2
        conv = F.conv1d if n == 1 else F.conv2d
        b = _tensor(node.bias, x) if bias and node.bias is not None else None
        return conv(
            x,
            _tensor(node.weight, x),
            b,
            stride=ints(node.stride, n),
            padding=padding_of(node.padding, n),
            dilation=ints(node.dilation, n),
            groups=int(node.groups),
        )
    if kind in ("SumPool2d", "AvgPool2d"):
        return F.avg_pool2d(
            x,
            ints(node.kernel_size, 2),
            ints(node.stride, 2),
            ints(node.padding, 2),
            divisor_override=1 if kind == "SumPool2d" else None,
        )
    raise InputError(f"NIR node type '{kind}' is not an operator spikebridge applies.")


def output_shape(node: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape (without batch) of ``node``'s output for an input of ``shape``."""
    with torch.no_grad():
        return tuple(apply(node, torch.zeros((1, *shape), dtype=torch.float64)).shape[1:])
