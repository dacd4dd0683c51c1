"""The tv-LIF2HH identity: four tv-LIF neurons reproduce an HH neuron's V(t).

Under forward Euler the update of v = F + u_4 equals HH's Euler update of v (see
``equations/tv_lif2hh.py``), so the two trajectories differ only by rounding. This
module runs both under the same input and measures the deviation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from brian2 import cm, ms, uamp

from .model import load_model
from .results import SimulationResult
from .simulate import simulate


@dataclass(frozen=True)
class IdentityReport:
    """Max |V_tvLIF2HH - V_HH| (mV) and the spike steps of both, for one input and method."""

    method: str
    dt_ms: float
    duration_ms: float
    input_uA_per_cm2: float
    engine: str
    max_abs_dv_mV: float
    spikes_hh: list[int]
    spikes_tv_lif2hh: list[int]
    spike_steps_equal: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tv_lif2hh_vs_hh(
    *,
    duration: Any = 80 * ms,
    current: Any = 10 * uamp / cm**2,
    method: str = "euler",
    engine: str = "brian2",
    device: str = "cpp_standalone",
    dtype: str = "float64",
) -> tuple[IdentityReport, SimulationResult, SimulationResult]:
    """Simulate ``hh`` and ``tv_lif2hh`` (same dt, method, initial V and input) and compare V."""
    hh, tv = load_model("hh"), load_model("tv_lif2hh")
    common: dict[str, Any] = {
        "duration": duration,
        "dt": tv.dt,
        "method": method,
        "inputs": {"I": current},
        "dtype": dtype,
        "record": ("v",),
    }
    reference = simulate(hh, engine=engine, device=device, **common)
    unit = simulate(tv, engine=engine, device=device, **common)
    deviation = float(np.max(np.abs(reference.traces["v"] - unit.traces["v"]))) * 1e3
    spikes_hh = reference.spike_steps("spike", 0).tolist()
    spikes_tv = unit.spike_steps("spike", 0).tolist()
    report = IdentityReport(
        method=method,
        dt_ms=float(tv.dt / ms),
        duration_ms=reference.n_steps * reference.dt * 1e3,
        input_uA_per_cm2=round(float(current / (uamp / cm**2)), 12),
        engine=f"{engine}:{device}",
        max_abs_dv_mV=deviation,
        spikes_hh=spikes_hh,
        spikes_tv_lif2hh=spikes_tv,
        spike_steps_equal=spikes_hh == spikes_tv,
    )
    return report, reference, unit
