"""The result of a simulation, the same for both engines: plain arrays with their units stated.

Time convention (Brian2's): ``traces[name][k]`` is the value at the *end* of step k,
i.e. at time (k + 1) dt, after threshold and reset; a spike of step k crossed the
threshold during step k and is reported at Brian2's spike time k dt.

``metadata`` records the seed, ``wall_seconds`` (the whole run, including Brian2's code
generation and compilation) and ``loop_seconds`` (the simulation loop alone, as timed by a
standalone device or around the torch loop).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .units import scale_of


@dataclass(frozen=True)
class SimulationResult:
    """Traces and spikes of one run of ``n`` neurons over ``n_steps`` steps of ``dt`` seconds."""

    model: str
    method: str
    engine: str
    dtype: str
    dt: float
    n_steps: int
    n: int
    traces: Mapping[str, np.ndarray]
    units: Mapping[str, str]
    spikes: Mapping[str, np.ndarray]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def t(self) -> np.ndarray:
        """Times of the trace samples in seconds: (k + 1) dt."""
        return (np.arange(self.n_steps) + 1) * self.dt

    def trace(self, name: str, unit: Any = None) -> np.ndarray:
        """Trace of ``name`` as an ``(n_steps, n)`` array, in SI or divided by ``unit``."""
        values = self.traces[name]
        return values if unit is None else values / scale_of(unit)

    def spike_steps(self, event: str = "spike", neuron: int | None = None) -> np.ndarray:
        """Steps at which ``event`` fired: of one ``neuron``, or ``(step, neuron)`` rows."""
        rows = self.spikes[event]
        if neuron is None:
            return rows
        return rows[rows[:, 1] == neuron, 0]

    def spike_counts(self, event: str = "spike") -> np.ndarray:
        """Number of ``event`` spikes per neuron."""
        return np.bincount(self.spikes[event][:, 1], minlength=self.n)


def spike_rows(steps: np.ndarray, neurons: np.ndarray) -> np.ndarray:
    """``(step, neuron)`` rows sorted by step, then neuron (the order both engines report)."""
    rows = np.stack(
        [np.asarray(steps, dtype=np.int64), np.asarray(neurons, dtype=np.int64)], axis=1
    )
    if len(rows) == 0:
        return rows.reshape(0, 2)
    order = np.lexsort((rows[:, 1], rows[:, 0]))
    return rows[order]
