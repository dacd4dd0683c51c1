"""Values of a network description: quantities, per-neuron arrays and seeded distributions.

A parameter, initial value or weight of a description is a Brian2 quantity (a scalar, or
one value per neuron or synapse) or a distribution, :class:`Uniform` or :class:`Normal`,
drawn once per element with numpy's generator seeded from ``(seed, stream)``: the stream
is derived from the value's place in the network (``"exc.v"``), so both engines, every
device and a reloaded network file get the same array.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import Quantity
from brian2.units.fundamentalunits import DIMENSIONLESS, Dimension

from ..errors import InputError
from ..units import to_si


@dataclass(frozen=True)
class Uniform:
    """Values drawn uniformly from ``[low, high)`` (quantities in the variable's unit)."""

    low: Any
    high: Any

    def draw(self, rng: np.random.Generator, size: int, dim: Dimension, what: str) -> np.ndarray:
        low = float(to_si(self.low, dim, f"low of {what}"))
        high = float(to_si(self.high, dim, f"high of {what}"))
        if not high >= low:
            raise InputError(f"Uniform for {what} needs high >= low, got {self.low}, {self.high}.")
        return low + (high - low) * rng.random(size)


@dataclass(frozen=True)
class Normal:
    """Values drawn from a normal distribution (quantities in the variable's unit)."""

    mean: Any
    std: Any

    def draw(self, rng: np.random.Generator, size: int, dim: Dimension, what: str) -> np.ndarray:
        mean = float(to_si(self.mean, dim, f"mean of {what}"))
        std = float(to_si(self.std, dim, f"std of {what}"))
        if not std >= 0:
            raise InputError(f"Normal for {what} needs std >= 0, got {self.std}.")
        return mean + std * rng.standard_normal(size)


Distribution = Uniform | Normal


def stream_of(place: str) -> int:
    """A stable number for a value's place in the network (its random stream)."""
    return zlib.crc32(place.encode())


def resolve_value(
    value: Any, dim: Dimension, size: int, seed: int, place: str, what: str
) -> np.ndarray:
    """SI float64 values: a scalar (0-d) or an array of ``size``; distributions are drawn."""
    if isinstance(value, Uniform | Normal):
        rng = np.random.default_rng([seed, stream_of(place)])
        return value.draw(rng, size, dim, what)
    si = to_si(value, dim, what)
    if not np.all(np.isfinite(si)):
        raise InputError(f"{what} contains NaN or infinite values.")
    if si.ndim == 0:
        return si
    if si.size != size:
        raise InputError(
            f"{what} has {si.size} values (shape {si.shape}); it needs one value or {size} "
            "(one per element, C order)."
        )
    return si.reshape(size)


def dim_to_list(dim: Dimension) -> list[float]:
    return [float(x) for x in dim._dims]


def dim_from_list(exponents: Any) -> Dimension:
    from brian2.units.fundamentalunits import get_or_create_dimension

    return get_or_create_dimension(tuple(float(x) for x in exponents))


def with_dim(values: np.ndarray, dim: Dimension) -> Any:
    """SI values as a quantity of ``dim`` (a plain array when dimensionless)."""
    if dim is DIMENSIONLESS:
        return np.asarray(values)
    return Quantity(np.asarray(values), dim=dim)
