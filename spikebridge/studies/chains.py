"""The networks of the equivalence study, on either engine, batched over conditions.

Every function simulates ``n`` independent neurons (one per condition or per parameter
candidate) and returns spike times in ms. Two-layer chains are feedforward, so layer 2 is
simulated after layer 1 with layer 1's per-step output as its input, which is exactly the
paper's same-step coupling:

* HH chain: HH2 receives 100 uA/cm2 during every step in which V_HH1 > 70 mV.
* s-LIF2HH chain: sub-neuron k of unit 2 receives W s_k + s_4 (in uA/cm2) where s_k is
  the threshold crossing of sub-neuron k of unit 1 in the same step (before its reset).
* LIF chain: LIF 2 receives W s, s the spike of LIF 1 in the same step.

The LIF baseline is the ``lif`` model without refractoriness, stepped at 1 ms with Euler, of a
1 cm2 patch (its input current is the HH current density times 1 cm2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import cm, ms, mV, uamp

from ..model import load_model
from ..results import SimulationResult
from ..simulate import simulate

#: HH2's input while V_HH1 > 70 mV: 1e5 times the HH step of 0.001 ms (the paper's W12).
HH_COUPLING = 100.0  # uA/cm2
#: The paper's s-LIF2HH chain weight W = 1e5 (times its 1-ms step).
PAPER_W = 1e5
#: Area of the LIF baseline's patch (its current is the HH current density times this).
LIF_AREA_CM2 = 1.0
DENSITY = uamp / cm**2


@dataclass(frozen=True)
class Engine:
    """Which engine (and Brian2 or torch device) runs a simulation."""

    name: str = "brian2"
    device: str = "cpp_standalone"
    dtype: str = "float64"

    def run(self, model: str, **options: Any) -> SimulationResult:
        return simulate(model, engine=self.name, device=self.device, dtype=self.dtype, **options)


TORCH = Engine("torch", "cpu")


def spike_times(result: SimulationResult, event: str = "spike") -> list[np.ndarray]:
    """Spike times (ms) of each neuron (one pass over the events, however many neurons)."""
    rows = result.spikes[event]
    rows = rows[np.lexsort((rows[:, 0], rows[:, 1]))]  # by neuron, then step
    bounds = np.searchsorted(rows[:, 1], np.arange(result.n + 1))
    times = rows[:, 0] * result.dt * 1e3
    return [times[bounds[j] : bounds[j + 1]] for j in range(result.n)]


def indicator(result: SimulationResult, event: str) -> np.ndarray:
    """A ``(n_steps, n)`` 0/1 array of the steps at which ``event`` occurred."""
    out = np.zeros((result.n_steps, result.n))
    rows = result.spikes[event]
    out[rows[:, 0], rows[:, 1]] = 1.0
    return out


@dataclass(frozen=True)
class ChainResult:
    """Spike times (ms) of both layers, and layer 1's recorded membrane if any."""

    layer1: list[np.ndarray]
    layer2: list[np.ndarray]
    membrane1: np.ndarray | None = None


def hh_chain(x: np.ndarray, engine: Engine, dt_ms: float = 0.001) -> ChainResult:
    """HH1 driven by ``x`` (``(n_steps, n)``, uA/cm2), HH2 by HH1's supra-70-mV pulses."""
    steps, n = x.shape
    common = {"n_steps": steps, "n": n, "dt": dt_ms * ms, "record": ("v",)}
    first = engine.run("hh_rest0", inputs={"I": x * DENSITY}, **common)
    pulses = HH_COUPLING * (first.traces["v"] > float(70 * mV))
    second = engine.run("hh_rest0", inputs={"I": pulses * DENSITY}, **{**common, "record": ()})
    return ChainResult(spike_times(first), spike_times(second), first.traces["v"])


def unit_chain(
    x_bins: np.ndarray, parameters: Mapping[str, Any], w: Any, engine: Engine
) -> ChainResult:
    """Two s-LIF2HH units: unit 1 driven by 1-ms bin means ``x_bins`` (``(80, n)``, uA/cm2),
    unit 2 by unit 1's crossings with weight ``w`` (scalar or one per neuron)."""
    steps, n = x_bins.shape
    common = {"n_steps": steps, "n": n, "record": (), "parameters": dict(parameters)}
    first = engine.run("s_lif2hh", inputs={"I": x_bins * DENSITY}, **common)
    s4 = indicator(first, "cross_4")
    weights = np.broadcast_to(np.asarray(w, dtype=float), (n,))
    synaptic = {
        f"I_syn_{k}": (weights * indicator(first, f"cross_{k}") + s4) * DENSITY for k in (1, 2, 3)
    }
    second = engine.run("s_lif2hh", inputs=synaptic, **common)
    return ChainResult(spike_times(first), spike_times(second))


def lif_chain(
    x_bins: np.ndarray, parameters: Mapping[str, Any], w: Any, engine: Engine
) -> ChainResult:
    """Two LIFs at 1-ms Euler steps: LIF 1 driven by ``x_bins``, LIF 2 by ``w`` times its spikes."""
    steps, n = x_bins.shape
    area = LIF_AREA_CM2 * cm**2
    common = {
        "n_steps": steps,
        "n": n,
        "dt": 1 * ms,
        "method": "euler",
        "record": (),
        "parameters": {"t_ref": 0 * ms, "v_reset": 0 * mV, **parameters},
    }
    first = engine.run("lif", inputs={"I": x_bins * DENSITY * area}, **common)
    weights = np.broadcast_to(np.asarray(w, dtype=float), (n,))
    second = engine.run(
        "lif", inputs={"I": weights * indicator(first, "spike") * DENSITY * area}, **common
    )
    return ChainResult(spike_times(first), spike_times(second))


def tv_lif2hh_rest0(x: np.ndarray, engine: Engine, dt_ms: float = 0.001) -> SimulationResult:
    """tv-LIF2HH with the constants and initial state of ``hh_rest0`` (the paper's convention)."""
    hh = load_model("hh_rest0")
    shared = ("E_Na", "E_K", "E_L", "V_hh0", "v_spike")
    initial = {"u_4": hh.initial["v"], **{g: hh.initial[g] for g in ("m", "n", "h")}}
    steps, n = x.shape
    return engine.run(
        "tv_lif2hh",
        n_steps=steps,
        n=n,
        dt=dt_ms * ms,
        inputs={"I": x * DENSITY},
        parameters={name: hh.parameters[name] for name in shared},
        initial=initial,
        record=("v",),
    )
