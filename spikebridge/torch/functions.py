"""Torch implementations of the Brian2 functions that generated step code calls.

Each function follows Brian2's C++ implementation (``brian2/codegen/generators/
cpp_generator.py`` and ``brian2/core/functions.py``) value for value, accepts tensors
or Python numbers (loop-invariant statements are plain floats), and is safe for
autograd (no NaN gradients from branches that are not taken).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .surrogate import SpikeFunction

Number = float | int | bool
Value = Tensor | Number


def _is_tensor(*values: Any) -> bool:
    return any(isinstance(v, Tensor) for v in values)


def _unary(torch_fn: Any, math_fn: Any) -> Any:
    def apply(x: Value) -> Value:
        return torch_fn(x) if isinstance(x, Tensor) else math_fn(x)

    return apply


exp = _unary(torch.exp, math.exp)
log = _unary(torch.log, math.log)
log10 = _unary(torch.log10, math.log10)
sqrt = _unary(torch.sqrt, math.sqrt)
sin = _unary(torch.sin, math.sin)
cos = _unary(torch.cos, math.cos)
tan = _unary(torch.tan, math.tan)
sinh = _unary(torch.sinh, math.sinh)
cosh = _unary(torch.cosh, math.cosh)
tanh = _unary(torch.tanh, math.tanh)
arcsin = _unary(torch.asin, math.asin)
arccos = _unary(torch.acos, math.acos)
arctan = _unary(torch.atan, math.atan)
expm1 = _unary(torch.special.expm1, math.expm1)
log1p = _unary(torch.log1p, math.log1p)
floor = _unary(torch.floor, math.floor)
ceil = _unary(torch.ceil, math.ceil)
abs = _unary(torch.abs, lambda x: -x if x < 0 else x)


def sign(x: Value) -> Value:
    if isinstance(x, Tensor):
        return torch.sign(x)
    return float((x > 0) - (x < 0))


def clip(x: Value, low: Value, high: Value) -> Value:
    if _is_tensor(x, low, high):
        return torch.minimum(
            torch.maximum(torch.as_tensor(x), torch.as_tensor(low)), torch.as_tensor(high)
        )
    return min(max(x, low), high)


def exprel(x: Value) -> Value:
    """(exp(x) - 1)/x with Brian2's branches: 1 for |x| < 1e-16, inf for x > 717."""
    if not isinstance(x, Tensor):
        if math.fabs(x) < 1e-16:
            return 1.0
        return math.inf if x > 717 else math.expm1(x) / x
    small = x.abs() < 1e-16
    safe = torch.where(small, torch.ones_like(x), x)
    value = torch.special.expm1(safe) / safe
    value = torch.where(x > 717, torch.full_like(x, math.inf), value)
    return torch.where(small, torch.ones_like(x), value)


def int_(x: Value, dtype: torch.dtype) -> Value:
    """Brian2's ``int()``: truncation toward zero, kept in the float type of the computation."""
    if isinstance(x, Tensor):
        if x.dtype == torch.bool:
            return x.to(dtype)
        return torch.trunc(x).to(dtype)
    return float(int(x))


def timestep(t: Value, dt: Value) -> Value:
    """Brian2's ``timestep(t, dt)``: the integer step of time ``t``, shifted by 1e-3 dt."""
    if _is_tensor(t, dt):
        return torch.trunc((torch.as_tensor(t) + 1e-3 * dt) / dt).to(torch.int64)
    return int((t + 1e-3 * dt) / dt)


def logical_and(a: Value, b: Value) -> Value:
    if _is_tensor(a, b):
        return torch.logical_and(torch.as_tensor(a), torch.as_tensor(b))
    return bool(a) and bool(b)


def logical_or(a: Value, b: Value) -> Value:
    if _is_tensor(a, b):
        return torch.logical_or(torch.as_tensor(a), torch.as_tensor(b))
    return bool(a) or bool(b)


def logical_not(a: Value) -> Value:
    if isinstance(a, Tensor):
        return torch.logical_not(a)
    return not a


def where(condition: Tensor, new: Value, old: Value) -> Tensor:
    """A conditional write (Brian2's ``unless refractory``): ``new`` where ``condition`` holds."""
    return torch.where(condition, torch.as_tensor(new), torch.as_tensor(old))


# -- spikes: differentiable versions of boolean threshold conditions --------------------------
def _scaled(difference: Value, scale: float) -> Tensor:
    """``difference / scale`` (no division by a scale of 1: the same values, one op fewer)."""
    return torch.as_tensor(difference if scale == 1.0 else difference / scale)


def spike_gt(spike_fn: SpikeFunction, a: Value, b: Value, scale: float) -> Tensor:
    """``a > b`` as 0/1 spikes whose gradient is the surrogate of (a - b)/scale."""
    return spike_fn(_scaled(a - b, scale))


def spike_lt(spike_fn: SpikeFunction, a: Value, b: Value, scale: float) -> Tensor:
    return spike_fn(_scaled(b - a, scale))


def spike_ge(spike_fn: SpikeFunction, a: Value, b: Value, scale: float) -> Tensor:
    """``a >= b``: exact forward value (equality counts), surrogate gradient of (a - b)/scale."""
    surrogate = spike_fn(_scaled(a - b, scale))
    exact = torch.as_tensor(a >= b).to(surrogate.dtype)
    return exact + (surrogate - surrogate.detach())


def spike_le(spike_fn: SpikeFunction, a: Value, b: Value, scale: float) -> Tensor:
    return spike_ge(spike_fn, b, a, scale)


def spike_of(condition: Value, dtype: torch.dtype) -> Tensor:
    """A boolean without a gradient (e.g. ``not_refractory``) as 0/1 spikes."""
    return torch.as_tensor(condition).to(dtype)


def blend(spike: Tensor, new: Value, old: Value) -> Tensor:
    """Apply a reset where ``spike`` is 1, keep ``old`` where it is 0.

    Forward values are exact (1*new + 0*old, 0*new + 1*old); the gradient flows through
    the spike, as in the paper's ``u * (1 - s)`` (the reset is not detached). A reset to the
    number 1 skips the product ``spike * 1`` (the same values and gradient, one op fewer).
    """
    kept = (1 - spike) * old
    if isinstance(new, int | float) and not isinstance(new, bool) and new == 1:
        return spike + kept
    return spike * new + kept
