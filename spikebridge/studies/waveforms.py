r"""Input waveforms of the paper's simulation study (``simplified_simulation/main.m``).

Currents in uA/cm2, time in ms. With the defaults each function is the paper's waveform::

    constant  x = offset                                                      (9)
    sine      x = offset - amplitude sin(2 pi t / period)                     (11.5, 19, 2 pi/1.2)
    square    x = offset - amplitude sign(mod(floor(t), period) - ((period - 1)/2 + 0.001))
                                                                              (9, 15.5, 8.5)
    sawtooth  x = offset + amplitude mod(t, period) / period                  (12, 11, 8.5)
    triangle  x = offset + (2 amplitude / period) |mod(t, period) - period/2| (7, 3.5, 8.5)

The square wave keeps the paper's ``floor(t)`` (it switches on whole milliseconds) and its
0.001 offset. An amplitude *level* scales a whole waveform (``level * x(t)``): the sweeps of
the equivalence study are levels of the paper's waveforms.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

WAVEFORMS: tuple[str, ...] = ("constant", "sine", "square", "triangle", "sawtooth")

#: The paper's parameters: (offset, amplitude, period in ms).
PAPER: dict[str, tuple[float, float, float]] = {
    "constant": (9.0, 0.0, 8.5),
    "sine": (11.5, 19.0, 2 * math.pi / 1.2),
    "square": (9.0, 15.5, 8.5),
    "sawtooth": (12.0, 11.0, 8.5),
    "triangle": (7.0, 3.5, 8.5),
}


def _constant(t: np.ndarray, offset: float, amplitude: float, period: float) -> np.ndarray:
    return np.full_like(t, offset, dtype=float)


def _sine(t: np.ndarray, offset: float, amplitude: float, period: float) -> np.ndarray:
    return offset - amplitude * np.sin(2 * np.pi * t / period)


def _square(t: np.ndarray, offset: float, amplitude: float, period: float) -> np.ndarray:
    return offset - amplitude * np.sign(np.mod(np.floor(t), period) - ((period - 1) / 2 + 0.001))


def _sawtooth(t: np.ndarray, offset: float, amplitude: float, period: float) -> np.ndarray:
    return offset + amplitude * np.mod(t, period) / period


def _triangle(t: np.ndarray, offset: float, amplitude: float, period: float) -> np.ndarray:
    return offset + (2 * amplitude / period) * np.abs(np.mod(t, period) - period / 2)


_FUNCTIONS: dict[str, Callable[[np.ndarray, float, float, float], np.ndarray]] = {
    "constant": _constant,
    "sine": _sine,
    "square": _square,
    "sawtooth": _sawtooth,
    "triangle": _triangle,
}


def waveform(
    kind: str,
    t_ms: np.ndarray,
    *,
    offset: float | None = None,
    amplitude: float | None = None,
    period: float | None = None,
    level: float = 1.0,
) -> np.ndarray:
    """The waveform ``kind`` at times ``t_ms`` (ms), in uA/cm2; unset values are the paper's."""
    if kind not in _FUNCTIONS:
        raise ValueError(f"Unknown waveform '{kind}'. Use one of: {', '.join(WAVEFORMS)}.")
    paper_offset, paper_amplitude, paper_period = PAPER[kind]
    values = _FUNCTIONS[kind](
        np.asarray(t_ms, dtype=float),
        paper_offset if offset is None else offset,
        paper_amplitude if amplitude is None else amplitude,
        paper_period if period is None else period,
    )
    return level * values


def bin_means(values: np.ndarray, steps_per_bin: int) -> np.ndarray:
    """Means over consecutive bins of ``steps_per_bin`` samples (the last axis is time).

    The s-LIF2HH unit steps at 1 ms and takes the mean HH input of each bin, as the paper's
    ``integral(x1, (i-2) dt, (i-1) dt) / dt``.
    """
    n = values.shape[-1] // steps_per_bin
    trimmed = values[..., : n * steps_per_bin]
    return trimmed.reshape(*values.shape[:-1], n, steps_per_bin).mean(axis=-1)
