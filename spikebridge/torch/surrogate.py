"""Spike functions: a Heaviside step forward, a surrogate derivative backward.

A *spike function* maps the distance to threshold ``x`` (in the model's membrane
unit) to spikes: forward it returns ``(x > 0)`` as 0/1 floats, backward it returns a
surrogate of the Heaviside's derivative. Any snnTorch surrogate
(``snntorch.surrogate.atan()``, ``fast_sigmoid()``, ...) is such a function and can be
passed wherever spikebridge takes one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

SpikeFunction = Callable[[Tensor], Tensor]


class _Rectangular(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, half_width: Tensor) -> Tensor:
        # backward needs only where |x| < half_width: saved as a boolean mask (a quarter of
        # float32 x's memory)
        ctx.save_for_backward(x.abs() < half_width)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:
        (window,) = ctx.saved_tensors
        return grad_output * window.to(grad_output.dtype), None


def rectangular(half_width: float = 0.5) -> SpikeFunction:
    """The paper's surrogate: d spike / dx = 1 where |x| < half_width, else 0 (not normalised).

    This is the ``ActFun`` of the paper's code, with ``half_width`` its ``lens``.
    """
    if not half_width > 0:
        raise ValueError(f"half_width must be positive, got {half_width}.")
    # a 0-d tensor, not a Python float: torch.compile of a whole net makes a float it has seen
    # with two values (nets of different widths) symbolic, and then fails to trace the
    # comparison inside the autograd.Function (torch 2.13); a 0-d tensor compares the same
    width = torch.tensor(half_width, dtype=torch.float64)

    def spike(x: Tensor) -> Tensor:
        out: Tensor = _Rectangular.apply(x, width)
        return out

    spike.__name__ = f"rectangular(half_width={half_width})"
    return spike


SURROGATES = ("rectangular", "atan", "fast_sigmoid", "sigmoid", "triangular", "straight_through")


def surrogate(name: str, width: float = 0.5) -> SpikeFunction:
    """A spike function by name: ``rectangular`` (ours) or one of snnTorch's surrogates."""
    if name == "rectangular":
        return rectangular(width)
    from snntorch import surrogate as sg

    factories: dict[str, Callable[[], SpikeFunction]] = {
        "atan": sg.atan,
        "fast_sigmoid": sg.fast_sigmoid,
        "sigmoid": sg.sigmoid,
        "triangular": sg.triangular,
        "straight_through": sg.straight_through_estimator,
    }
    if name not in factories:
        raise ValueError(f"Unknown surrogate '{name}'. Use one of: {', '.join(SURROGATES)}.")
    return factories[name]()
