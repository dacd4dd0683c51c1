"""Parity of the two engines on a whole network: the same description, run, and inputs.

:func:`network_parity` runs a network on a Brian2 device and on the torch engine (event
delivery, Brian2's order of accumulation) from the same initial state and frozen inputs,
recording each population's membrane variables, and compares them:

* ``spike_steps_equal``: every population's spike raster identical (all events);
* ``steps_equal_until``: the number of steps for which every raster agrees (recurrent
  networks are chaotic: a rounding difference grows into different spikes, so in float32,
  or with a compiler that contracts differently, the engines part after a while);
* per population: ``max_abs_v`` (the membrane deviation while the rasters agree, in the
  model's membrane unit), spike counts, mean rates and the CV of the inter-spike intervals
  on both engines (the statistics that must still agree after the rasters part).

The verdict follows :data:`spikebridge.tolerances.NETWORK_TOLERANCES`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..tolerances import NETWORK_TOLERANCES, NetworkTolerance
from .description import Network
from .plan import NetworkPlan, plan_network
from .result import NetworkResult
from .run import prepare_run


@dataclass(frozen=True)
class NetworkParity:
    """Outcome of one engine comparison of a network (JSON-ready with :meth:`to_dict`)."""

    network: str
    device: str
    dtype: str
    n_steps: int
    duration_ms: float
    spike_steps_equal: bool
    steps_equal_until: int
    populations: dict[str, dict[str, Any]]
    tolerance: dict[str, Any]
    within_tolerance: bool
    seconds: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def first_difference(a: np.ndarray, b: np.ndarray, n_steps: int) -> int:
    """The first step at which two ``(trial, step, neuron)`` tables differ (``n_steps`` if
    never)."""
    if np.array_equal(a, b):
        return n_steps
    steps = []
    for table in (a, b):
        steps.append({tuple(row) for row in table.tolist()})
    differing = steps[0] ^ steps[1]
    return int(min(row[1] for row in differing))


def isi_cv(table: np.ndarray) -> float:
    """Mean coefficient of variation of the inter-spike intervals (neurons with >= 3 spikes)."""
    cvs = []
    for key in np.unique(table[:, [0, 2]], axis=0) if len(table) else []:
        steps = table[(table[:, 0] == key[0]) & (table[:, 2] == key[1]), 1]
        if len(steps) >= 3:
            intervals = np.diff(steps)
            cvs.append(float(np.std(intervals) / np.mean(intervals)))
    return float(np.mean(cvs)) if cvs else float("nan")


def network_parity(
    network: Network | NetworkPlan,
    *,
    device: str = "cpp_standalone",
    dtype: str = "float64",
    duration: Any = None,
    n_steps: int | None = None,
    trials: int = 1,
    inputs: dict[str, Any] | None = None,
) -> NetworkParity:
    """Run ``network`` on Brian2 ``device`` and on torch (CPU) and compare (module docstring)."""
    from ..brian.network import run_network_brian2
    from ..torch.network import run_network_torch

    plan = network if isinstance(network, NetworkPlan) else plan_network(network)
    record = tuple(
        f"{p.name}.{p.model.membrane[0]}"
        for p in plan.populations.values()
        if p.model.state_variables  # a model without state (a relay) has no trace
    )
    run = prepare_run(
        plan, duration=duration, n_steps=n_steps, trials=trials, inputs=inputs, record=record
    )
    brian = run_network_brian2(run, device=device, dtype=dtype)
    torch_ = run_network_torch(run, dtype=dtype, synapses="event")
    return compare_networks(plan, brian, torch_, device, NETWORK_TOLERANCES[dtype])


def compare_networks(
    plan: NetworkPlan,
    brian: NetworkResult,
    other: NetworkResult,
    device: str,
    tolerance: NetworkTolerance,
) -> NetworkParity:
    """Compare two results of the same run (see the module docstring)."""
    until = brian.n_steps
    for key in brian.spikes:
        until = min(until, first_difference(brian.spikes[key], other.spikes[key], brian.n_steps))
    populations = {}
    ok = True
    for pop in plan.populations.values():
        name = f"{pop.name}.{pop.model.membrane[0]}"
        scale = pop.model.membrane_scale
        deviation: float | None = None  # no state, no trace: spikes only
        span: float | None = None
        if name in brian.traces:
            a, b = brian.traces[name][:, :until], other.traces[name][:, :until]
            deviation = float(np.max(np.abs(a - b))) / scale if a.size else 0.0
            span = float(np.ptp(brian.traces[name])) / scale if brian.traces[name].size else 0.0
        counts = {
            e: (len(brian.events(pop.name, e)), len(other.events(pop.name, e)))
            for e in pop.model.event_names
        }
        rate_b = brian.rate(pop.name, pop.model.event_names[0])
        rate_t = other.rate(pop.name, pop.model.event_names[0])
        cv_b = isi_cv(brian.events(pop.name, pop.model.event_names[0]))
        cv_t = isi_cv(other.events(pop.name, pop.model.event_names[0]))
        rate_ok = abs(rate_b - rate_t) <= max(
            tolerance.rate_rtol * max(rate_b, rate_t), tolerance.rate_atol_hz
        )
        membrane_ok = (
            deviation is None
            or span is None
            or deviation <= tolerance.membrane_rtol * max(span, 1.0)
        )
        ok = ok and rate_ok and membrane_ok
        populations[pop.name] = {
            "model": pop.model.name,
            "neurons": pop.n,
            "membrane": pop.model.membrane[0],
            "membrane_unit": pop.model.membrane_unit_name,
            "max_abs_v": deviation,
            "membrane_range": span,
            "spikes_brian2": int(sum(c[0] for c in counts.values())),
            "spikes_torch": int(sum(c[1] for c in counts.values())),
            "rate_brian2_hz": rate_b,
            "rate_torch_hz": rate_t,
            "isi_cv_brian2": cv_b,
            "isi_cv_torch": cv_t,
        }
    equal = all(np.array_equal(brian.spikes[k], other.spikes[k]) for k in brian.spikes)
    if tolerance.spikes_equal:
        ok = ok and equal
    return NetworkParity(
        network=plan.name,
        device=device,
        dtype=brian.dtype,
        n_steps=brian.n_steps,
        duration_ms=brian.n_steps * brian.dt * 1e3,
        spike_steps_equal=bool(equal),
        steps_equal_until=int(until),
        populations=populations,
        tolerance=asdict(tolerance),
        within_tolerance=bool(ok),
        seconds={
            "brian2_wall": float(brian.metadata.get("wall_seconds", float("nan"))),
            "torch_wall": float(other.metadata.get("wall_seconds", float("nan"))),
        },
    )
