"""Perturbations of a bridged network that a simulator expresses well, run in one build.

A :class:`NoiseSchedule` lists perturbation levels (the first is always the clean
network); the Brian2 network then runs every test sample once per level, window after
window (level-major), in a single build: each perturbation's strength is a ``TimedArray``
over windows. Kinds, with ``s`` the strength:

* ``membrane``: ``dv/dt += s * scale_v * xi_v / sqrt(dt)`` on every membrane variable
  (Euler-Maruyama: ``v += s * scale_v * N(0, 1)`` per step), ``scale_v`` the standard
  deviation of ``v`` in the clean network, so that ``s`` is comparable across models
  whose membranes live on different scales;
* ``input``: fresh Gaussian noise of standard deviation ``s`` (pixel units, 0-255) on
  every pixel at every step;
* ``weight``: every projection weight (not the biases) scaled by ``1 + s * eps`` with one
  fixed ``eps ~ N(0, 1)`` per synapse and seed;
* ``deletion``: every spike of the recorded spiking layer lost with probability ``s``
  before the readout (for a conv net, every event from layer 1 to layer 2 also fails at
  each synapse with probability ``s``).

Level 0 has all strengths 0 and is the bridged network itself: it reproduces the torch
network spike for spike (checked by :mod:`spikebridge.studies.robustness`).
:func:`network_perturbations` turns a schedule into the general Brian2 engine's
per-trial :class:`~spikebridge.brian.perturbations.Perturbations` of a network (the
membrane, input and weight kinds; deletion acts on the recorded raster).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checks import count
from ..errors import InputError

if TYPE_CHECKING:
    from ..brian.perturbations import Perturbations

KINDS: dict[str, str] = {
    "membrane": "membrane noise, std per step relative to the clean membrane std",
    "input": "input noise, std per step in pixel units (0-255), fresh every step",
    "weight": "weight perturbation, relative std of a fixed per-synapse factor",
    "deletion": "spike deletion probability",
}


@dataclass(frozen=True)
class Perturbation:
    """One perturbation level: a kind of :data:`KINDS` (or ``none``) and its strength."""

    kind: str
    strength: float

    def __post_init__(self) -> None:
        if self.kind not in (*KINDS, "none"):
            raise InputError(
                f"Unknown perturbation '{self.kind}'; choose one of {', '.join(KINDS)}."
            )
        if not np.isfinite(self.strength) or self.strength < 0:
            raise InputError(
                f"A {self.kind} strength must be a finite number >= 0, got {self.strength}."
            )
        if self.kind == "deletion" and self.strength > 1:
            raise InputError(f"A deletion probability must be <= 1, got {self.strength}.")


@dataclass(frozen=True)
class NoiseSchedule:
    """Levels (level 0 clean) x samples windows; window ``w`` is level ``w // samples``."""

    levels: tuple[Perturbation, ...]
    samples: int
    membrane_scale: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_strengths(
        cls,
        strengths: Mapping[str, Sequence[float]],
        samples: int,
        membrane_scale: Mapping[str, float] | None = None,
    ) -> NoiseSchedule:
        """The clean level followed by every ``(kind, strength)`` of ``strengths``.

        ``membrane_scale`` (one value per membrane variable, e.g. its standard deviation
        in the clean network) is the unit of the ``membrane`` strengths.
        """
        samples = count(samples, "samples")
        levels = [Perturbation("none", 0.0)]
        levels += [Perturbation(k, float(s)) for k, values in strengths.items() for s in values]
        schedule = cls(tuple(levels), samples, dict(membrane_scale or {}))
        if schedule.uses("membrane") and not schedule.membrane_scale:
            raise InputError(
                "Membrane noise needs membrane_scale (the unit of its strengths), e.g. the "
                "clean network's membrane standard deviation per variable."
            )
        return schedule

    @property
    def windows(self) -> int:
        return len(self.levels) * self.samples

    def uses(self, kind: str) -> bool:
        return any(level.kind == kind and level.strength > 0 for level in self.levels)

    def per_window(self, kind: str) -> np.ndarray:
        """Strength of ``kind`` in each window (0 where another kind is active)."""
        per_level = [level.strength if level.kind == kind else 0.0 for level in self.levels]
        return np.repeat(np.asarray(per_level, dtype=np.float64), self.samples)


def delete_spikes(raster: np.ndarray, probability: np.ndarray, seed: int) -> np.ndarray:
    """``raster`` ``[windows, T, n]`` with each spike removed with its window's probability."""
    rng = np.random.default_rng(seed)
    keep = rng.random(raster.shape) >= probability[:, None, None]
    return raster & keep


def weight_factors(shape: tuple[int, ...], seed: int, stream: int) -> np.ndarray:
    """Fixed standard-normal ``eps`` per synapse for the weight perturbation (one stream
    per projection, so adding a projection does not change the others' factors)."""
    return np.random.default_rng([seed, stream]).standard_normal(shape)


def network_perturbations(schedule: NoiseSchedule, net: Any, seed: int) -> Perturbations:
    """The Brian2 perturbations of ``schedule`` for a paper fc network ``net``: membrane noise
    on its spiking layer, input noise on its pixels, a fixed factor on every weight of its
    input projections (one stream per projection; the biases stay exact)."""
    from ..brian.perturbations import Perturbations

    plan = net.network.plan
    membrane = {}
    if schedule.uses("membrane"):
        membrane = {"hidden": (schedule.per_window("membrane"), dict(schedule.membrane_scale))}
    inputs = {"pixels": schedule.per_window("input")} if schedule.uses("input") else {}
    weights = {}
    if schedule.uses("weight"):
        for k, (name, projection) in enumerate(plan.projections.items()):
            n_pre, n_post = projection.synapses.n_pre, projection.synapses.n_post
            eps = weight_factors((n_pre + 1, n_post), seed, k)  # the weights' rows, then biases'
            factors = np.concatenate([eps[:n_pre].reshape(-1), np.zeros(n_post)])
            weights[name] = (schedule.per_window("weight"), factors)
    return Perturbations(membrane=membrane, input=inputs, weights=weights, seed=seed)
