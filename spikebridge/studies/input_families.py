r"""Input families of equivalence studies: a current per step of a run, from a description.

A family is a kind and its parameters; values are in the study's current unit (the paper's:
uA/cm2), times in ms, frequencies in Hz. ``t`` is the time of a sample, ``T`` the run's
duration:

==========  ===================================================================================
``paper``   the paper's waveforms (:mod:`.waveforms`): ``waveform`` (constant, sine, square,
            triangle, sawtooth) at amplitude ``level``
``step``    ``offset`` + ``amplitude`` for ``onset`` <= t < ``onset`` + ``width``
            (``width`` 0: to the end)
``ramp``    ``offset`` + ``slope`` (t - ``onset``) for t >= ``onset`` (per ms), ``offset`` before
``sine``    ``offset`` + ``amplitude`` sin(2 pi ``frequency`` t + ``phase``)
``chirp``   ``offset`` + ``amplitude`` sin(2 pi (f0 t + (f1 - f0) t^2 / (2 T))): a linear sweep
            from ``f0`` to ``f1`` over the run
``ou``      Ornstein-Uhlenbeck noise, mean ``mean``, stationary standard deviation ``sigma``,
            correlation time ``tau``: I(t + dt) = mean + (I(t) - mean) e^(-dt/tau)
            + sigma sqrt(1 - e^(-2 dt/tau)) N(0, 1), exact on the grid, started from the
            stationary distribution, seeded
``array``   the values of a ``.npy`` file (``path``): one per sample, 1-d
==========  ===================================================================================

**Sampling.** A run of n steps of ``dt`` reads one value per step. ``sample="start"`` (the
default) is Brian2's convention: step k (from t_k = k dt to t_(k+1)) integrates with the
input at t_k, as a ``TimedArray`` read at the start of the step. ``sample="end"`` is the
paper's MATLAB code, which updates step k with the input at t_(k+1): for the analytic
families the times are shifted by dt; for OU noise and arrays the series is read one sample
later (n + 1 samples: an array for ``end`` sampling needs n + 1 values, a ``start`` one at
least n). On inputs that change within a step the two differ by about dt |dI/dt|, so a model
fitted under one convention and evaluated under the other sees inputs one step apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import index, non_negative, positive
from ..errors import InputError
from .waveforms import WAVEFORMS, waveform

SAMPLING = ("start", "end")

#: kind -> {parameter: default (None: required)}
PARAMETERS: dict[str, dict[str, Any]] = {
    "paper": {"waveform": None, "level": 1.0},
    "step": {"offset": 0.0, "amplitude": None, "onset": 0.0, "width": 0.0},
    "ramp": {"offset": 0.0, "slope": None, "onset": 0.0},
    "sine": {"offset": 0.0, "amplitude": None, "frequency": None, "phase": 0.0},
    "chirp": {"offset": 0.0, "amplitude": None, "f0": None, "f1": None},
    "ou": {"mean": None, "sigma": None, "tau": None},
    "array": {"path": None},
}
_NON_NEGATIVE = {"onset", "width", "sigma", "frequency", "f0", "f1"}
_POSITIVE = {"tau"}


@dataclass(frozen=True)
class InputFamily:
    """One input family (module docstring), checked on construction."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in PARAMETERS:
            raise InputError(
                f"Unknown input family {self.kind!r}. Use one of: {', '.join(PARAMETERS)}."
            )
        known = PARAMETERS[self.kind]
        unknown = sorted(set(self.params) - set(known))
        if unknown:
            raise InputError(
                f"Input family {self.kind!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"its parameters: {', '.join(known)}."
            )
        values = {**known, **self.params}
        missing = sorted(k for k, v in values.items() if v is None)
        if missing:
            raise InputError(f"Input family {self.kind!r} needs {', '.join(missing)}.")
        for name, value in values.items():
            if name in ("waveform", "path"):
                continue
            label = f"{self.kind}.{name}"
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InputError(f"{label} must be a number, got {value!r}.")
            if name in _POSITIVE:
                positive(value, label)
            elif name in _NON_NEGATIVE:
                non_negative(value, label)
            elif not math.isfinite(float(value)):
                raise InputError(f"{label} must be finite, got {value!r}.")
        if self.kind == "paper" and values["waveform"] not in WAVEFORMS:
            raise InputError(
                f"paper.waveform must be one of {', '.join(WAVEFORMS)}; got {values['waveform']!r}."
            )
        object.__setattr__(self, "params", values)

    @property
    def label(self) -> str:
        """The family's name in reports: its kind, and for ``paper`` the waveform."""
        return f"{self.kind} {self.params['waveform']}" if self.kind == "paper" else self.kind

    def currents(
        self, n_steps: int, dt_ms: float, *, sample: str = "start", seed: int = 0
    ) -> np.ndarray:
        """The value read by each of ``n_steps`` steps of ``dt_ms`` (module docstring)."""
        from ..checks import count

        n_steps = count(n_steps, "n_steps")
        dt_ms = positive(dt_ms, "dt_ms")
        seed = index(seed, "seed")
        if sample not in SAMPLING:
            raise InputError(f"sample must be one of {', '.join(SAMPLING)}; got {sample!r}.")
        shift = 1 if sample == "end" else 0
        p = self.params
        if self.kind == "ou":
            series = _ou(n_steps + 1, dt_ms, p["mean"], p["sigma"], p["tau"], seed)
            return series[shift : shift + n_steps]
        if self.kind == "array":
            return _array(Path(p["path"]), n_steps, shift)
        t = (np.arange(n_steps) + shift) * dt_ms
        return _ANALYTIC[self.kind](t, p, n_steps * dt_ms)


def _ou(n: int, dt: float, mean: float, sigma: float, tau: float, seed: int) -> np.ndarray:
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    decay = math.exp(-dt / tau)
    start = sigma * rng.standard_normal()  # drawn first: a longer run extends a shorter one
    kicks = sigma * math.sqrt(1 - decay**2) * rng.standard_normal(n)
    kicks[0] = start  # the stationary start
    # x_k = decay x_(k-1) + kick_k: the exact OU update on the grid, as a first-order filter
    return mean + lfilter([1.0], [1.0, -decay], kicks)


def _array(path: Path, n_steps: int, shift: int) -> np.ndarray:
    if not path.is_file():
        raise InputError(f"array input {path} does not exist (a .npy file of one value per step).")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"array input {path} is not a .npy file: {exc}") from exc
    if data.ndim != 1 or not np.issubdtype(data.dtype, np.number):
        raise InputError(
            f"array input {path} holds an array of shape {data.shape} ({data.dtype}); it must "
            "be 1-d numbers, one value per sample."
        )
    needed = n_steps + shift
    if len(data) < needed:
        which = "n + 1 samples for end sampling" if shift else "one per step"
        raise InputError(
            f"array input {path} has {len(data)} values; a run of {n_steps} steps needs "
            f"{needed} ({which})."
        )
    if not np.all(np.isfinite(data[:needed])):
        raise InputError(f"array input {path} holds NaN or infinite values.")
    return np.asarray(data[shift:needed], dtype=np.float64)


def _step(t: np.ndarray, p: Mapping[str, Any], duration: float) -> np.ndarray:
    end = math.inf if p["width"] == 0 else p["onset"] + p["width"]
    return p["offset"] + p["amplitude"] * ((t >= p["onset"]) & (t < end))


def _ramp(t: np.ndarray, p: Mapping[str, Any], duration: float) -> np.ndarray:
    return p["offset"] + p["slope"] * np.clip(t - p["onset"], 0.0, None)


def _sine(t: np.ndarray, p: Mapping[str, Any], duration: float) -> np.ndarray:
    phase = 2 * np.pi * p["frequency"] * t / 1000.0 + p["phase"]
    return p["offset"] + p["amplitude"] * np.sin(phase)


def _chirp(t: np.ndarray, p: Mapping[str, Any], duration: float) -> np.ndarray:
    seconds, total = t / 1000.0, duration / 1000.0
    phase = 2 * np.pi * (p["f0"] * seconds + (p["f1"] - p["f0"]) * seconds**2 / (2 * total))
    return p["offset"] + p["amplitude"] * np.sin(phase)


def _paper(t: np.ndarray, p: Mapping[str, Any], duration: float) -> np.ndarray:
    return waveform(p["waveform"], t, level=float(p["level"]))


_ANALYTIC: dict[str, Callable[[np.ndarray, Mapping[str, Any], float], np.ndarray]] = {
    "step": _step,
    "ramp": _ramp,
    "sine": _sine,
    "chirp": _chirp,
    "paper": _paper,
}
