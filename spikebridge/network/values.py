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
from brian2.units.fundamentalunits import DIMENSIONLESS, Dimension, get_dimensions

from ..errors import InputError
from ..units import to_si, unit_name


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


def value_to_dict(value: Any) -> dict[str, Any]:
    """A value in JSON form (distributions as their fields; arrays are stored separately)."""
    if isinstance(value, Uniform):
        return {
            "distribution": "uniform",
            "low": quantity_to_dict(value.low),
            "high": quantity_to_dict(value.high),
        }
    if isinstance(value, Normal):
        return {
            "distribution": "normal",
            "mean": quantity_to_dict(value.mean),
            "std": quantity_to_dict(value.std),
        }
    return quantity_to_dict(value)


def quantity_to_dict(value: Any) -> dict[str, Any]:
    """A scalar quantity as ``{"value": SI float, "dim": [7 exponents]}`` (lossless)."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 0:
        raise InputError("quantity_to_dict takes scalars; arrays are stored as arrays.")
    return {"value": float(array), "dim": dim_to_list(get_dimensions(value))}


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


def value_from_dict(data: Any) -> Any:
    """Inverse of :func:`value_to_dict`."""
    kind = data.get("distribution")
    if kind == "uniform":
        return Uniform(value_from_dict(data["low"]), value_from_dict(data["high"]))
    if kind == "normal":
        return Normal(value_from_dict(data["mean"]), value_from_dict(data["std"]))
    return with_dim(np.asarray(data["value"]), dim_from_list(data["dim"]))


def describe_dim(dim: Dimension) -> str:
    return unit_name(dim)
