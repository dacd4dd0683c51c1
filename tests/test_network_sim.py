"""The batched network simulator of the torch engine (spikebridge.torch.network).

Uncoupled, it is the torch engine's ``simulate`` spike for spike; randomly coupled HH
networks match the same network built in Brian2 (``Synapses(..., on_pre="v_post += w")``,
cpp_standalone) spike for spike in float64; bad requests raise InputError.
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
from spikebridge.brian.network import simulate_network_brian2
from spikebridge.errors import InputError, ParameterError
from spikebridge.network import NetworkResult, random_connectivity
from spikebridge.torch.network import simulate_network

N = 100
#: Heterogeneous constant drive (6-14 uA/cm2): neurons fire at different rates, so that the
#: coupling changes spike times instead of adding to one synchronous volley.
DRIVE = {"I": np.linspace(6.0, 14.0, N) * sb.uamp / sb.cm**2}
COUPLED = {"in_degree": 10, "weight": 2 * mV, "seed": 3}


def spikes_of(result: NetworkResult) -> np.ndarray:
    assert result.spikes is not None, "run with record_spikes=True"
    return result.spikes


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_uncoupled_network_is_simulate_torch(dtype: str) -> None:
    drive = {"I": DRIVE["I"][:20]}
    reference = sb.simulate(
        "hh", engine="torch", n=20, parameters=drive, duration=12 * sb.ms, dtype=dtype, record=()
    )
    network = simulate_network(
        "hh", 20, parameters=drive, duration=12 * sb.ms, dtype=dtype, record_spikes=True
    )
    assert len(spikes_of(network)) >= 20  # every neuron spikes: not vacuous
    np.testing.assert_array_equal(spikes_of(network), reference.spikes["spike"])
    np.testing.assert_array_equal(network.spike_counts, reference.spike_counts())


def test_compiled_step_gives_the_same_spikes() -> None:
    """``compile=True`` runs the generated step through torch.compile (or falls back)."""
    kwargs: dict[str, Any] = {
        "parameters": {"I": DRIVE["I"][:20]},
        "n_steps": 300,
        "record_spikes": True,
    }
    eager = simulate_network("hh", 20, **kwargs)
    compiled = simulate_network("hh", 20, compile=True, **kwargs)
    assert len(spikes_of(eager)) > 0
    np.testing.assert_array_equal(spikes_of(compiled), spikes_of(eager))


@pytest.fixture(scope="module")
def coupled_torch() -> NetworkResult:
    return simulate_network(
        "hh", N, parameters=DRIVE, duration=30 * sb.ms, record_spikes=True, **COUPLED
    )


@pytest.mark.standalone
def test_coupled_hh_matches_brian2_spike_for_spike(coupled_torch: NetworkResult) -> None:
    if shutil.which("g++") is None:
        pytest.skip("Brian2 cpp_standalone needs a C++ compiler")
    brian = simulate_network_brian2(
        "hh", N, device="cpp_standalone", parameters=DRIVE, duration=30 * sb.ms,
        record_spikes=True, **COUPLED,
    )  # fmt: skip
    uncoupled = simulate_network("hh", N, parameters=DRIVE, duration=30 * sb.ms)
    # the coupling matters: more spikes than without it
    assert coupled_torch.spike_counts.sum() > uncoupled.spike_counts.sum()
    np.testing.assert_array_equal(spikes_of(coupled_torch), spikes_of(brian))
    np.testing.assert_array_equal(coupled_torch.spike_counts, brian.spike_counts)


LIF_NETWORK: dict[str, Any] = {
    "parameters": {"I": np.linspace(0.15, 0.4, 60) * namp},
    "duration": 50 * sb.ms,
    "p": 0.2,
    "weight": 3 * mV,
    "seed": 1,
    "record_spikes": True,
}
#: lif.py without refractoriness: the jump meets the reset "v = v_reset" alone
NO_REFRACTORY = (
    Path(sb.load_model("lif").source)
    .read_text()
    .replace(' + " (unless refractory)"', "")
    .replace('REFRACTORY = "t_ref"', "REFRACTORY = None")
)


@pytest.mark.parametrize("refractory", [True, False])
def test_coupled_lif_matches_brian2(refractory: bool, model_file: Callable[[str], Path]) -> None:
    """Brian2 writes an ``(unless refractory)`` target only where not refractory, synapses
    included, and its reset comes after the synapses: both rules hold here (numpy device)."""
    model = sb.load_model("lif" if refractory else str(model_file(NO_REFRACTORY)))
    torch_ = simulate_network(model, 60, **LIF_NETWORK)
    brian = simulate_network_brian2(model, 60, device="numpy", **LIF_NETWORK)
    assert len(spikes_of(brian)) > 300
    np.testing.assert_array_equal(spikes_of(torch_), spikes_of(brian))


def test_reset_that_scales_the_target_is_refused(model_file: Callable[[str], Path]) -> None:
    text = sb.load_model("lif").source
    scaled = Path(text).read_text().replace('RESET = "v = v_reset"', 'RESET = "v = 0.5*v"')
    with pytest.raises(InputError, match=r"'v = 0\.5\*v'"):
        simulate_network(sb.load_model(str(model_file(scaled))), 5, p=0.5, weight=1 * mV, n_steps=5)


@pytest.mark.parametrize("synapses", ["sparse", "dense"])
def test_matrix_delivery_equals_event_delivery(coupled_torch: NetworkResult, synapses: str) -> None:
    other = simulate_network(
        "hh", N, parameters=DRIVE, duration=30 * sb.ms, record_spikes=True, synapses=synapses,
        **COUPLED,
    )  # fmt: skip
    np.testing.assert_array_equal(spikes_of(other), spikes_of(coupled_torch))


def test_repeats_and_counts() -> None:
    result = simulate_network(
        "hh", 10, p=0.3, weight=1 * mV, n_steps=200, repeats=2, record_spikes=True,
        parameters={"I": 20 * sb.uamp / sb.cm**2},
    )  # fmt: skip
    assert len(result.loop_seconds) == 2
    assert result.neuron_steps_per_second > 0
    np.testing.assert_array_equal(
        result.spike_counts, np.bincount(spikes_of(result)[:, 1], minlength=10)
    )


def test_random_connectivity() -> None:
    fixed = random_connectivity(200, in_degree=15, seed=1)
    assert (fixed.in_degrees() == 15).all()
    assert not (fixed.pre == fixed.post).any()
    pairs = fixed.pre * 200 + fixed.post
    assert (np.diff(pairs) > 0).all()  # sorted, no duplicate synapse
    dense = random_connectivity(20, in_degree=19, seed=1)  # everyone but itself
    assert dense.size == 20 * 19 and not (dense.pre == dense.post).any()
    prob = random_connectivity(300, p=0.1, seed=2)
    expected = 0.1 * 300 * 299
    assert abs(prob.size - expected) < 5 * np.sqrt(expected)
    assert random_connectivity(50, p=1.0).size == 50 * 49
    assert random_connectivity(50, p=0.0).size == 0
    assert random_connectivity(50, p=1.0, autapses=True).size == 50 * 50
    again = random_connectivity(300, p=0.1, seed=2)
    np.testing.assert_array_equal(again.post, prob.post)


@pytest.mark.parametrize(
    ("n", "options", "message"),
    [
        (10, {"p": -0.1}, r"p .* in \[0, 1\]"),
        (10, {"p": 1.5}, r"p .* in \[0, 1\]"),
        (-5, {}, "positive integer"),
        (0, {"p": 0.5}, "positive integer"),
        (10, {"in_degree": 10}, "in_degree must be an integer from 0 to 9"),
        (10, {"p": 0.1, "in_degree": 2}, "at most one"),
        (10, {"p": 0.1}, "need a weight"),
        (10, {"weight": 1 * mV}, "need synapses"),
        (10, {"p": 0.1, "weight": 1 * mV, "target": "I"}, "not a state variable"),
        (10, {"synapses": "csc"}, "synapses must be one of"),
        (10, {"dtype": "float16"}, "dtype"),
    ],
)
def test_bad_inputs(n: int, options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        simulate_network("hh", n, n_steps=5, **options)  # type: ignore[arg-type]


def test_bad_connection_parameters() -> None:
    with pytest.raises(InputError, match=r"p .* in \[0, 1\]"):
        random_connectivity(10, p=2.0)
    with pytest.raises(InputError, match="positive integer"):
        random_connectivity(-1, p=0.5)
    with pytest.raises(ParameterError, match="units of V"):
        simulate_network("hh", 10, p=0.5, weight=1.0, n_steps=5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without a GPU")
def test_cuda_without_gpu_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no CUDA GPU"):
        simulate_network("hh", 10, n_steps=5, device="cuda")


@pytest.mark.gpu
def test_cuda_equals_cpu() -> None:
    kwargs: dict[str, Any] = {
        "parameters": DRIVE,
        "duration": 10 * sb.ms,
        "record_spikes": True,
        **COUPLED,
    }
    cpu = simulate_network("hh", N, **kwargs)
    gpu = simulate_network("hh", N, device="cuda", **kwargs)
    np.testing.assert_array_equal(spikes_of(gpu), spikes_of(cpu))
