"""Coupled populations (one model, synapses onto its own state) on both engines.

The torch engine's network step is rendered from Brian2's code for the same description,
so coupled HH and LIF populations match Brian2 spike for spike in float64, whatever the
neuron's reset does (Brian2's schedule is followed, not imitated); the three delivery modes
give the same spikes; compiled steps give the eager ones.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from brian2 import mV, namp

import spikebridge as sb
from spikebridge.brian.network import run_network_brian2
from spikebridge.errors import InputError, ParameterError
from spikebridge.network import NetworkResult, coupled_population, plan_network, prepare_run
from spikebridge.torch.network import run_network_torch

N = 100
#: Heterogeneous constant drive (6-14 uA/cm2): neurons fire at different rates, so that the
#: coupling changes spike times instead of adding to one synchronous volley.
DRIVE = {"I": np.linspace(6.0, 14.0, N) * sb.uamp / sb.cm**2}
COUPLED = {"in_degree": 10, "weight": 2 * mV, "seed": 3}


def run_torch(model: Any, n: int, duration: Any, **options: Any) -> NetworkResult:
    engine = {
        k: options.pop(k) for k in ("synapses", "compile", "repeats", "dtype") if k in options
    }
    network = coupled_population(model, n, **options)
    return run_network_torch(prepare_run(plan_network(network), duration=duration), **engine)


def neurons(result: NetworkResult) -> np.ndarray:
    return result.events("neurons")


def test_uncoupled_population_is_simulate_torch() -> None:
    drive = {"I": DRIVE["I"][:20]}
    reference = sb.simulate(
        "hh", engine="torch", n=20, parameters=drive, duration=12 * sb.ms, record=()
    )
    result = run_torch("hh", 20, 12 * sb.ms, parameters=drive)
    assert len(neurons(result)) >= 20  # every neuron spikes: not vacuous
    np.testing.assert_array_equal(neurons(result)[:, 1:], reference.spikes["spike"])


@pytest.fixture(scope="module")
def coupled_hh() -> NetworkResult:
    return run_torch("hh", N, 30 * sb.ms, parameters=DRIVE, **COUPLED)


@pytest.mark.standalone
def test_coupled_hh_matches_brian2_spike_for_spike(coupled_hh: NetworkResult) -> None:
    if shutil.which("g++") is None:
        pytest.skip("Brian2 cpp_standalone needs a C++ compiler")
    network = coupled_population("hh", N, parameters=DRIVE, **COUPLED)
    brian = run_network_brian2(prepare_run(plan_network(network), duration=30 * sb.ms))
    uncoupled = run_torch("hh", N, 30 * sb.ms, parameters=DRIVE)
    assert len(neurons(coupled_hh)) > len(neurons(uncoupled))  # the coupling matters
    np.testing.assert_array_equal(neurons(coupled_hh), neurons(brian))


#: lif.py without refractoriness, and with a reset that scales v (the synapses' target):
#: Brian2 adds the jumps before the reset, which then halves the sum
NO_REFRACTORY = (
    Path(sb.load_model("lif").source)
    .read_text()
    .replace(' + " (unless refractory)"', "")
    .replace('REFRACTORY = "t_ref"', "REFRACTORY = None")
)
SCALING_RESET = NO_REFRACTORY.replace('RESET = "v = v_reset"', 'RESET = "v = 0.5*v"')


@pytest.mark.parametrize("variant", ["refractory", "no_refractory", "scaling_reset"])
def test_coupled_lif_matches_brian2(variant: str, model_file: Callable[[str], Path]) -> None:
    """An ``(unless refractory)`` target is written only where not refractory, synapses
    included; the reset comes after the synapses, whatever it does (numpy device)."""
    text = {"no_refractory": NO_REFRACTORY, "scaling_reset": SCALING_RESET}.get(variant)
    model = sb.load_model("lif" if text is None else str(model_file(text)))
    options: dict[str, Any] = {
        "parameters": {"I": np.linspace(0.15, 0.4, 60) * namp},
        "p": 0.2,
        "weight": 3 * mV,
        "seed": 1,
    }
    network = coupled_population(model, 60, **options)
    run = prepare_run(plan_network(network), duration=50 * sb.ms)
    brian = run_network_brian2(run, device="numpy")
    torch_ = run_network_torch(run)
    assert len(neurons(brian)) > 300
    np.testing.assert_array_equal(neurons(torch_), neurons(brian))


@pytest.mark.parametrize("synapses", ["scatter", "matrix"])
def test_delivery_modes_equal_event_delivery(coupled_hh: NetworkResult, synapses: str) -> None:
    other = run_torch("hh", N, 30 * sb.ms, parameters=DRIVE, synapses=synapses, **COUPLED)
    np.testing.assert_array_equal(neurons(other), neurons(coupled_hh))


def test_compiled_step_gives_the_same_spikes() -> None:
    options: dict[str, Any] = {"parameters": {"I": DRIVE["I"][:20]}, "p": 0.3, "weight": 1 * mV}
    eager = run_torch("hh", 20, 3 * sb.ms, synapses="scatter", **options)
    compiled = run_torch("hh", 20, 3 * sb.ms, synapses="scatter", compile="step", **options)
    assert len(neurons(eager)) > 0
    np.testing.assert_array_equal(neurons(compiled), neurons(eager))


def test_repeats_and_counts() -> None:
    result = run_torch(
        "hh",
        10,
        2 * sb.ms,
        p=0.3,
        weight=1 * mV,
        repeats=2,
        parameters={"I": 20 * sb.uamp / sb.cm**2},
    )
    assert len(result.loop_seconds) == 2
    assert result.neuron_steps_per_second > 0
    np.testing.assert_array_equal(
        result.spike_counts("neurons")[0], np.bincount(neurons(result)[:, 2], minlength=10)
    )


@pytest.mark.parametrize(
    ("n", "options", "message"),
    [
        (10, {"p": -0.1, "weight": 1 * mV}, r"p .* in \[0, 1\]"),
        (10, {"p": 1.5, "weight": 1 * mV}, r"p .* in \[0, 1\]"),
        (-5, {}, "positive integer"),
        (0, {"p": 0.5, "weight": 1 * mV}, "positive integer"),
        (10, {"in_degree": 10, "weight": 1 * mV}, "exceeds the 9 possible senders"),
        (10, {"p": 0.1, "in_degree": 2}, "at most one"),
        (10, {"p": 0.1}, "need a weight"),
        (10, {"weight": 1 * mV}, "need synapses"),
        (10, {"p": 0.1, "weight": 1 * mV, "target": "I"}, "not a state variable"),
    ],
)
def test_bad_inputs(n: int, options: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        run_torch("hh", n, 0.5 * sb.ms, **options)


def test_bad_engine_options() -> None:
    with pytest.raises(InputError, match="synapses must be one of"):
        run_torch("hh", 10, 0.5 * sb.ms, synapses="csc")
    with pytest.raises(InputError, match="dtype"):
        run_torch("hh", 10, 0.5 * sb.ms, dtype="float16")
    with pytest.raises(ParameterError, match="units of V"):
        run_torch("hh", 10, 0.5 * sb.ms, p=0.5, weight=1.0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without a GPU")
def test_cuda_without_gpu_is_an_input_error() -> None:
    network = coupled_population("hh", 10)
    with pytest.raises(InputError, match="no CUDA GPU"):
        run_network_torch(prepare_run(plan_network(network), n_steps=5), device="cuda")


@pytest.mark.gpu
def test_cuda_equals_cpu() -> None:
    network = coupled_population("hh", N, parameters=DRIVE, **COUPLED)
    run = prepare_run(plan_network(network), duration=10 * sb.ms)
    cpu = run_network_torch(run, synapses="scatter")
    gpu = run_network_torch(run, device="cuda", synapses="scatter")
    np.testing.assert_array_equal(neurons(gpu), neurons(cpu))
