"""Inputs: constants, shared and per-neuron waveforms, and driven parameters other than I."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import Mohm, ms, mV, nA

import spikebridge as sb
from spikebridge.parity import compare
from spikebridge.tolerances import tolerance_for


def _both(model: str, **options: object) -> tuple[sb.SimulationResult, sb.SimulationResult]:
    brian = sb.simulate(model, engine="brian2", device="numpy", **options)
    torch_result = sb.simulate(model, engine="torch", **options)
    return brian, torch_result


def test_time_varying_tau_and_gain_of_tv_lif() -> None:
    """The tv-LIF's time constant and input scaling driven by waveforms agree in both engines."""
    steps = 400
    t = np.arange(steps) * 0.1e-3
    inputs = {
        "I": 0.25 * nA,
        "tau_m": (10 + 5 * np.sin(2 * np.pi * t / 8.5e-3)) * ms,
        "R_m": np.stack([80 + 40 * np.cos(2 * np.pi * t / 5e-3)] * 2, axis=1) * Mohm,
    }
    brian, other = _both("tv_lif", n_steps=steps, n=2, inputs=inputs)
    verdict = compare(sb.load_model("tv_lif"), brian, other, tolerance_for("tv_lif", "float64"))
    assert verdict["spikes_brian2"] > 2 and verdict["spike_steps_equal"]
    assert verdict["max_abs_v"] < 1e-9


def test_input_step_k_acts_during_step_k() -> None:
    """A pulse at step 5 moves the membrane at the end of step 5 and not before."""
    wave = np.zeros(10)
    wave[5] = 1.0
    for engine in ("brian2", "torch"):
        options = {"device": "numpy"} if engine == "brian2" else {}
        result = sb.simulate("lif_dl", engine=engine, n_steps=10, inputs={"I": wave}, **options)
        u = result.traces["u"][:, 0]
        assert np.all(u[:5] == 0) and u[5] == pytest.approx(1.0) and u[6] == pytest.approx(0.0)
        assert result.spike_steps("spike", 0).tolist() == [5]


def test_per_neuron_constant_is_a_parameter() -> None:
    result = sb.simulate(
        "lif", engine="torch", duration=50 * ms, n=3, parameters={"I": [0.0, 0.2, 0.4] * nA}
    )
    counts = result.spike_counts()
    assert counts[0] == 0 and 0 < counts[1] < counts[2]


def test_initial_state_override_and_units() -> None:
    result = sb.simulate(
        "lif", engine="torch", n_steps=1, initial={"v": -49 * mV}, parameters={"I": 0.2 * nA}
    )
    assert result.units["v"] == "V"
    assert result.spike_steps("spike", 0).tolist() == [0]
