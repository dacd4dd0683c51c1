"""Brian2 and the generated torch step give the same trajectories: every model, method, dtype.

Tolerances come from the one table in :mod:`spikebridge.tolerances` (float64 strict,
float32 tolerant). Every comparison must contain spikes, so none is vacuous.
"""

from __future__ import annotations

import pytest
from brian2 import ms

import spikebridge as sb
from spikebridge.parity import parity

#: Runs long enough for every neuron of the parity stimulus to spike at least once, kept short
#: for the models stepped at dt = 0.001 ms (their default 20 ms is 20,000 torch steps).
DURATION_MS = {"hh_rest0": 15.0, "tv_lif2hh": 5.0}

CASES = [(name, method) for name in sb.list_models() for method in sb.load_model(name).methods]


def _duration(name: str) -> object:
    return DURATION_MS[name] * ms if name in DURATION_MS else None


@pytest.mark.standalone
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "method"), CASES)
def test_parity_cpp_standalone(name: str, method: str, dtype: str) -> None:
    report = parity(
        name, method=method, dtype=dtype, device="cpp_standalone", duration=_duration(name)
    )
    assert report.spikes_brian2 >= report.neurons, "the stimulus must make every neuron spike"
    assert report.within_tolerance, report.to_dict()
    if dtype == "float64":
        assert report.spike_steps_equal


#: The runtime device in float64 only: float32 (Brian2's and torch's) is checked on
#: cpp_standalone for every model and method above; the runtime's Cython code differs from
#: that C++ in its target language only, not in the float type's handling.
@pytest.mark.parametrize("name", sb.list_models())
def test_parity_runtime_declared_method(name: str) -> None:
    report = parity(name, dtype="float64", device="runtime", duration=_duration(name))
    assert report.spikes_brian2 >= report.neurons
    assert report.within_tolerance, report.to_dict()
    assert report.spike_steps_equal
