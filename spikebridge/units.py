"""Units at the boundary: Brian2 quantities outside, plain SI floats inside the torch engine.

Every conversion between a user's value and the SI float the engines compute with
passes through :func:`to_si`, which checks dimensions against the variable's
declared unit and says what was expected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from brian2 import Quantity, get_unit
from brian2.units.fundamentalunits import DIMENSIONLESS, Dimension, get_dimensions

from .errors import ParameterError


def unit_name(dim: Dimension) -> str:
    """The SI unit of a dimension as text (``"V"``, ``"A/m^2"``; ``"1"`` if dimensionless)."""
    if dim is DIMENSIONLESS:
        return "1"
    return str(get_unit(dim))


def to_si(value: Any, dim: Dimension, what: str) -> np.ndarray:
    """Convert ``value`` (a Brian2 quantity, or a number for dimensionless ``dim``) to SI floats.

    Raises :class:`ParameterError` naming ``what`` when the dimensions do not match.
    """
    value_dim = get_dimensions(value)
    if value_dim is not dim:
        if value_dim is DIMENSIONLESS and not isinstance(value, Quantity):
            raise ParameterError(
                f"{what} needs units of {unit_name(dim)}, got the plain number(s) {_short(value)}. "
                f"Pass a Brian2 quantity, e.g. {_short(value)} * {unit_name(dim)}."
            )
        raise ParameterError(
            f"{what} needs units of {unit_name(dim)}, got {_short(value)} "
            f"(units of {unit_name(value_dim)}). Convert it to {unit_name(dim)}."
        )
    return np.asarray(value, dtype=np.float64)


def scale_of(unit: Any) -> float:
    """The SI value of a display unit (``mV`` -> 1e-3; a plain ``1`` -> 1.0)."""
    return float(np.asarray(unit))


def as_quantity(values: Any, dim: Dimension) -> Any:
    """SI floats as a Brian2 quantity of ``dim`` (a plain array if dimensionless)."""
    if dim is DIMENSIONLESS:
        return np.asarray(values)
    return np.asarray(values) * get_unit(dim)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
