"""Golden traces: small files recorded from Brian2 cpp_standalone, replayed by the torch engine.

They pin today's numbers: a change in code generation, in the model files or in Brian2
that moves a trajectory shows up here without compiling anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import spikebridge as sb
from spikebridge.parity import PARITY_NEURONS, parity_inputs
from spikebridge.tolerances import tolerance_for

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sb.list_models())
def test_torch_replays_the_golden_trace(name: str) -> None:
    path = GOLDEN / f"{name}.npz"
    assert path.exists(), f"missing golden trace {path}; run python -m tests.golden.make_golden"
    golden = np.load(path)
    meta = json.loads(str(golden["metadata"]))
    model = sb.load_model(name)
    assert meta["method"] == model.method and meta["dt"] == pytest.approx(float(model.dt))
    steps, stride = meta["n_steps"], meta["stride"]
    result = sb.simulate(
        model,
        engine="torch",
        n_steps=steps,
        n=PARITY_NEURONS,
        inputs=parity_inputs(model, steps, float(model.dt)),
    )
    tolerance = tolerance_for(name, "float64")
    for var in model.membrane:
        expected = golden[f"trace_{var}"]
        span = max(float(np.ptp(expected)) / model.membrane_scale, 1.0)
        replayed = result.traces[var][stride - 1 :: stride]
        deviation = float(np.max(np.abs(replayed - expected))) / model.membrane_scale
        assert deviation <= tolerance.membrane_rtol * span, (var, deviation)
    for event in model.event_names:
        assert len(golden[f"spikes_{event}"]) > 0
        assert np.array_equal(result.spikes[event], golden[f"spikes_{event}"])
