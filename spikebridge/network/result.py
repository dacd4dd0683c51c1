"""The result of a network run, the same for both engines.

Spikes are ``(trial, step, neuron)`` rows sorted by trial, step, neuron, one array per
population event (``"exc.spike"``); a spike of step k crossed its threshold during step k
(Brian2's spike time k dt). Traces are ``[trials, n_steps, n]`` SI arrays of the values at
the end of each step.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .run import NetworkRun


@dataclass(frozen=True)
class NetworkResult:
    """Spikes, traces and timings of one run of a network on one engine."""

    network: str
    engine: str
    dtype: str
    dt: float
    n_steps: int
    trials: int
    sizes: Mapping[str, int]
    spikes: Mapping[str, np.ndarray]
    traces: Mapping[str, np.ndarray] = field(default_factory=dict)
    loop_seconds: tuple[float, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of_run(
        cls,
        run: NetworkRun,
        engine: str,
        dtype: str,
        spikes: Mapping[str, np.ndarray],
        traces: Mapping[str, np.ndarray],
        loop_seconds: tuple[float, ...],
        metadata: Mapping[str, Any],
    ) -> NetworkResult:
        """The result of ``run`` on an engine (sizes and timing from the run)."""
        plan = run.plan
        return cls(
            network=plan.name,
            engine=engine,
            dtype=dtype,
            dt=plan.dt,
            n_steps=run.n_steps,
            trials=run.trials,
            sizes={name: pop.n for name, pop in plan.populations.items()},
            spikes=dict(spikes),
            traces=dict(traces),
            loop_seconds=loop_seconds,
            metadata=dict(metadata),
        )

    def events(self, population: str, event: str = "spike") -> np.ndarray:
        """``(trial, step, neuron)`` rows of one population's event."""
        key = f"{population}.{event}"
        if key not in self.spikes:
            raise KeyError(
                f"No event '{event}' of population '{population}'; recorded: "
                f"{', '.join(self.spikes)}."
            )
        return self.spikes[key]

    def spike_counts(self, population: str, event: str = "spike") -> np.ndarray:
        """Spikes per trial and neuron, ``[trials, n]``."""
        rows = self.events(population, event)
        counts = np.zeros((self.trials, self.sizes[population]), dtype=np.int64)
        np.add.at(counts, (rows[:, 0], rows[:, 2]), 1)
        return counts

    def rate(self, population: str, event: str = "spike") -> float:
        """Mean firing rate of a population in Hz (over trials, neurons and time)."""
        seconds = self.n_steps * self.dt * self.trials * self.sizes[population]
        return float(len(self.events(population, event)) / seconds)

    @property
    def median_loop_seconds(self) -> float:
        return float(statistics.median(self.loop_seconds)) if self.loop_seconds else float("nan")

    @property
    def neurons(self) -> int:
        return int(sum(self.sizes.values()))

    @property
    def neuron_steps_per_second(self) -> float:
        """Neurons x steps x trials over the median loop time."""
        return self.neurons * self.n_steps * self.trials / self.median_loop_seconds


def spike_table(trial: np.ndarray, step: np.ndarray, neuron: np.ndarray) -> np.ndarray:
    """``(trial, step, neuron)`` rows, sorted."""
    rows = np.stack([np.asarray(a, dtype=np.int64) for a in (trial, step, neuron)], axis=1)
    if len(rows) == 0:
        return rows.reshape(0, 3)
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
