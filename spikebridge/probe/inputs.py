"""The probe's input: doubly stochastic Poisson spike trains in 1-ms bins (Beniaguev et al. 2021).

One simulation of ``duration_ms`` bins draws, for its whole length, a hold interval ``h``
(ms) from ``hold_ms`` plus a uniform jitter of +-``hold_jitter_ms``, and a smoothing width
``s`` from ``sigma_ms`` plus +-``sigma_jitter_ms``. Every ``h`` ms it draws a new rate level::

    E  ~ U[exc_per_100ms]                       excitatory spikes per 100 ms, all synapses
    I  ~ U[max(0, E + d_lo), E + d_hi]   inhibitory; (d_lo, d_hi) = inh_minus_exc_per_100ms

spreads it evenly over the ``n_exc`` (``n_inh``) synapses, multiplies each synapse's rate by
a spatial factor U[0.5, 1.5] drawn per synapse and level, holds it for ``h`` bins, smooths it
with a normalised Gaussian window of width ``s`` (length ``7 s + 1``), and in each bin draws a
spike probability from an exponential distribution with that mean and then a Bernoulli spike.

The defaults are the integrate-and-fire figure of the paper's code
(``integrate_and_fire_figure_replication.py``): 80 excitatory + 20 inhibitory synapses,
E ~ U[0, 50], I - E ~ U[-50, -15] per 100 ms, holds {25, 30, ..., 100} ms and Gaussian
widths {40, 60, 80, 100} ms, both +-20 ms. Simulation ``k`` of a data set seeded ``seed`` is
drawn from its own generator (``seed``, ``k``), so chunks can be drawn in any order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.signal import convolve
from scipy.signal.windows import gaussian

from ..errors import InputError


@dataclass(frozen=True)
class InputStatistics:
    """Parameters of the doubly stochastic input process (see the module docstring)."""

    n_exc: int = 80
    n_inh: int = 20
    exc_per_100ms: tuple[float, float] = (0.0, 50.0)
    inh_minus_exc_per_100ms: tuple[float, float] = (-50.0, -15.0)
    hold_ms: tuple[int, ...] = (25, 30, 35, 40, 50, 60, 70, 80, 90, 100)
    hold_jitter_ms: int = 20
    sigma_ms: tuple[int, ...] = (40, 60, 80, 100)
    sigma_jitter_ms: int = 20

    def __post_init__(self) -> None:
        for name in ("n_exc", "n_inh"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise InputError(f"InputStatistics.{name} must be an integer >= 0, got {value!r}.")
        if self.n_exc + self.n_inh == 0:
            raise InputError("InputStatistics: give at least one synapse (n_exc + n_inh > 0).")
        for name in ("exc_per_100ms", "inh_minus_exc_per_100ms"):
            low, high = getattr(self, name)
            if not low <= high:
                raise InputError(
                    f"InputStatistics.{name}: low must not exceed high, got {low, high}."
                )
        if self.exc_per_100ms[0] < 0:
            raise InputError("InputStatistics.exc_per_100ms: rates must be >= 0.")
        for name, jitter in (("hold_ms", "hold_jitter_ms"), ("sigma_ms", "sigma_jitter_ms")):
            options, width = getattr(self, name), getattr(self, jitter)
            if not options or min(options) - width < 1:
                raise InputError(
                    f"InputStatistics.{name}: give options whose smallest value minus "
                    f"{jitter} ({width}) is at least 1 ms, got {options}."
                )

    @property
    def n_synapses(self) -> int:
        return self.n_exc + self.n_inh

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputStatistics:
        allowed = set(cls.__dataclass_fields__)
        unknown = set(data) - allowed
        if unknown:
            raise InputError(
                f"Unknown input statistics {sorted(unknown)}; allowed: {sorted(allowed)}."
            )
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)


def simulation_generator(seed: int, simulation: int) -> np.random.Generator:
    """The generator of simulation ``simulation`` of a data set seeded ``seed``."""
    return np.random.default_rng([seed, simulation])


def input_spike_trains(
    stats: InputStatistics, duration_ms: int, rng: np.random.Generator
) -> np.ndarray:
    """One simulation's input: a boolean ``[n_exc + n_inh, duration_ms]`` array, excitatory
    synapses first."""
    if not isinstance(duration_ms, int) or duration_ms < 1:
        raise InputError(f"duration_ms must be a whole number of ms >= 1, got {duration_ms!r}.")
    hold = int(rng.choice(stats.hold_ms)) + int(
        2 * stats.hold_jitter_ms * rng.random() - stats.hold_jitter_ms
    )
    sigma = int(rng.choice(stats.sigma_ms)) + int(
        2 * stats.sigma_jitter_ms * rng.random() - stats.sigma_jitter_ms
    )
    levels = int(np.ceil(duration_ms / hold))
    exc = rng.uniform(*stats.exc_per_100ms, size=levels)
    low = np.maximum(0.0, exc + stats.inh_minus_exc_per_100ms[0])
    inh = rng.uniform(low, np.maximum(low, exc + stats.inh_minus_exc_per_100ms[1]))
    rates = []
    for total, n in ((exc, stats.n_exc), (inh, stats.n_inh)):
        per_synapse = np.tile(total / (max(n, 1) * 100.0), (n, 1))  # spikes per synapse and ms
        per_synapse = per_synapse * rng.uniform(0.5, 1.5, size=per_synapse.shape)
        rates.append(np.repeat(per_synapse, hold, axis=1)[:, :duration_ms])
    rate = np.vstack(rates)
    window = gaussian(1 + 7 * sigma, std=sigma)[np.newaxis, :]
    smooth = convolve(rate, window / window.sum(), mode="same")
    probability = rng.exponential(scale=np.maximum(smooth, 0.0))
    return np.asarray(rng.random(probability.shape) < probability)


def input_block(
    stats: InputStatistics, duration_ms: int, seed: int, simulations: range
) -> np.ndarray:
    """The inputs of ``simulations`` of a data set seeded ``seed``: bool ``[sims, n_syn, T]``."""
    return np.stack(
        [input_spike_trains(stats, duration_ms, simulation_generator(seed, k)) for k in simulations]
    )
