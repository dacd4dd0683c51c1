"""The networks of the equivalence study, on either engine, batched over conditions.

Every function simulates ``n`` independent neurons (one per condition or per parameter
candidate) and returns spike times in ms. Two-layer chains are feedforward, so layer 2 is
simulated after layer 1 with layer 1's per-step output as its input, which is exactly the
paper's same-step coupling:

* HH chain: HH2 receives 100 uA/cm2 during every step in which V_HH1 > 70 mV.
* s-LIF2HH chain: sub-neuron k of unit 2 receives W s_k + s_4 (in uA/cm2) where s_k is
  the threshold crossing of sub-neuron k of unit 1 in the same step (before its reset).
* LIF chain: LIF 2 receives W s, s the spike of LIF 1 in the same step.

Each chain is data of :mod:`.layer_chain`, the mechanism every study file's chain uses.
The LIF baseline is the ``lif`` model without refractoriness, stepped at 1 ms with Euler, of a
1 cm2 patch (its input current is the HH current density times 1 cm2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from brian2 import cm, ms, mV, uamp
from brian2.units.fundamentalunits import DIMENSIONLESS

from ..model import load_model
from ..results import SimulationResult
from ..simulate import simulate
from .layer_chain import Chain, load_chain, run_chain
from .study_file import parse_quantity

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


@dataclass(frozen=True)
class ChainResult:
    """Spike times (ms) of both layers, and layer 1's recorded membrane if any."""

    layer1: list[np.ndarray]
    layer2: list[np.ndarray]
    membrane1: np.ndarray | None = None


def _paper_chain(model: str, drive: Mapping[str, str], free: Mapping[str, Any]) -> Chain:
    """A paper chain as data (:mod:`.layer_chain`), checked like a study file's."""
    return load_chain(
        {"drive": dict(drive)}, load_model(model), f"paper chain {model}", parse_quantity, free
    )


#: The paper's chains, written as any study file's chain: HH2's input is 100 uA/cm2 while
#: V_HH1 > 70 mV; s-LIF2HH unit 2 receives W s_k + s_4; LIF 2 receives W s (1 cm2 patch).
HH_CHAIN = _paper_chain("hh_rest0", {"I": f"{HH_COUPLING} * uA/cm**2 * (v > 70 * mV)"}, {})
UNIT_CHAIN = _paper_chain(
    "s_lif2hh",
    {f"I_syn_{k}": f"(W * cross_{k} + cross_4) * uA/cm**2" for k in (1, 2, 3)},
    {"W": DIMENSIONLESS},
)
LIF_CHAIN = _paper_chain(
    "lif", {"I": f"W * spike * uA/cm**2 * {LIF_AREA_CM2} * cm**2"}, {"W": DIMENSIONLESS}
)


def _run(engine: Engine, model: str) -> Any:
    return lambda **options: engine.run(model, **options)


def hh_chain(x: np.ndarray, engine: Engine, dt_ms: float = 0.001) -> ChainResult:
    """HH1 driven by ``x`` (``(n_steps, n)``, uA/cm2), HH2 by HH1's supra-70-mV pulses."""
    steps, n = x.shape
    options = {"n_steps": steps, "n": n, "dt": dt_ms * ms, "inputs": {"I": x * DENSITY}}
    first, second = run_chain(
        _run(engine, "hh_rest0"), load_model("hh_rest0"), HH_CHAIN, options, {}
    )
    return ChainResult(spike_times(first), spike_times(second), first.traces["v"])


def unit_chain(
    x_bins: np.ndarray, parameters: Mapping[str, Any], w: Any, engine: Engine
) -> ChainResult:
    """Two s-LIF2HH units: unit 1 driven by 1-ms bin means ``x_bins`` (``(80, n)``, uA/cm2),
    unit 2 by unit 1's crossings with weight ``w`` (scalar or one per neuron)."""
    steps, n = x_bins.shape
    options = {
        "n_steps": steps,
        "n": n,
        "parameters": dict(parameters),
        "inputs": {"I": x_bins * DENSITY},
    }
    weights = np.broadcast_to(np.asarray(w, dtype=float), (n,))
    first, second = run_chain(
        _run(engine, "s_lif2hh"), load_model("s_lif2hh"), UNIT_CHAIN, options, {"W": weights}
    )
    return ChainResult(spike_times(first), spike_times(second))


def lif_chain(
    x_bins: np.ndarray, parameters: Mapping[str, Any], w: Any, engine: Engine
) -> ChainResult:
    """Two LIFs at 1-ms Euler steps: LIF 1 driven by ``x_bins``, LIF 2 by ``w`` times its spikes."""
    steps, n = x_bins.shape
    area = LIF_AREA_CM2 * cm**2
    options = {
        "n_steps": steps,
        "n": n,
        "dt": 1 * ms,
        "method": "euler",
        "parameters": {"t_ref": 0 * ms, "v_reset": 0 * mV, **parameters},
        "inputs": {"I": x_bins * DENSITY * area},
    }
    weights = np.broadcast_to(np.asarray(w, dtype=float), (n,))
    first, second = run_chain(
        _run(engine, "lif"), load_model("lif"), LIF_CHAIN, options, {"W": weights}
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
