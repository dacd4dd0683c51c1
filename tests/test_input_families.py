"""Input families of the equivalence studies, both sampling conventions, against oracles."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spikebridge.errors import InputError
from spikebridge.studies.input_families import InputFamily
from spikebridge.studies.waveforms import waveform

DT = 0.1  # ms


@pytest.mark.parametrize(
    ("kind", "params", "oracle"),
    [
        (
            "step",
            {"offset": 1.0, "amplitude": 2.0, "onset": 5.0, "width": 3.0},
            lambda t: 1.0 + 2.0 * ((t >= 5.0) & (t < 8.0)),
        ),
        (
            "ramp",
            {"offset": 1.0, "slope": 0.5, "onset": 2.0},
            lambda t: 1.0 + 0.5 * np.maximum(t - 2.0, 0.0),
        ),
        (
            "sine",
            {"offset": 3.0, "amplitude": 2.0, "frequency": 100.0, "phase": 0.5},
            lambda t: 3.0 + 2.0 * np.sin(2 * np.pi * 0.1 * t + 0.5),
        ),
        (
            "paper",
            {"waveform": "sawtooth", "level": 1.2},
            lambda t: waveform("sawtooth", t, level=1.2),
        ),
    ],
)
def test_analytic_families_in_both_conventions(
    kind: str, params: dict[str, Any], oracle: Any
) -> None:
    family = InputFamily(kind, params)
    t = np.arange(200) * DT
    assert np.allclose(family.currents(200, DT), oracle(t), rtol=0, atol=1e-12)
    assert np.allclose(family.currents(200, DT, sample="end"), oracle(t + DT), rtol=0, atol=1e-12)


def test_the_chirp_sweeps_its_frequency() -> None:
    n = 20000  # 2 s at 0.1 ms: from 5 Hz to 50 Hz
    values = InputFamily("chirp", {"amplitude": 1.0, "f0": 5.0, "f1": 50.0}).currents(n, DT)
    crossings = np.nonzero(np.diff(np.signbit(values)))[0] * DT / 1000  # s
    middle, half_periods = (crossings[1:] + crossings[:-1]) / 2, np.diff(crossings)
    frequency = 5.0 + 45.0 * middle / 2.0  # the sweep's instantaneous frequency
    assert len(crossings) > 100
    assert np.allclose(half_periods, 1 / (2 * frequency), rtol=0.05)


def test_ou_noise_has_its_mean_spread_and_correlation_time() -> None:
    family = InputFamily("ou", {"mean": 2.0, "sigma": 0.5, "tau": 5.0})
    values = family.currents(400_000, DT, seed=3)  # 40 s, 8000 correlation times
    assert values.mean() == pytest.approx(2.0, abs=0.02)
    assert values.std() == pytest.approx(0.5, rel=0.03)
    lag = int(5.0 / DT)
    x = values - values.mean()
    autocorrelation = float(np.mean(x[:-lag] * x[lag:]) / np.var(x))
    assert autocorrelation == pytest.approx(math.exp(-1), abs=0.03)
    again = family.currents(1000, DT, seed=3)
    assert np.array_equal(again, values[:1000])  # seeded
    assert not np.array_equal(family.currents(1000, DT, seed=4), again)
    # end sampling reads the same process one sample later
    assert np.array_equal(family.currents(1000, DT, sample="end", seed=3)[:-1], again[1:])


def test_array_inputs(tmp_path: Path) -> None:
    path = tmp_path / "current.npy"
    np.save(path, np.arange(11.0))
    family = InputFamily("array", {"path": str(path)})
    assert np.array_equal(family.currents(10, DT), np.arange(10.0))
    assert np.array_equal(family.currents(10, DT, sample="end"), np.arange(1.0, 11.0))
    with pytest.raises(InputError, match=r"has 11 values; a run of 11 steps needs 12 \(n \+ 1"):
        family.currents(11, DT, sample="end")
    np.save(path, np.zeros((3, 4)))
    with pytest.raises(InputError, match=r"shape \(3, 4\).*must be 1-d"):
        family.currents(3, DT)
    with pytest.raises(InputError, match="does not exist"):
        InputFamily("array", {"path": str(tmp_path / "none.npy")}).currents(3, DT)


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("noise", {}, "Unknown input family 'noise'. Use one of: paper, step"),
        ("sine", {"amplitude": 1.0, "frequency": 5.0, "freq": 1}, "has no parameter 'freq'"),
        ("sine", {"amplitude": 1.0}, "needs frequency"),
        ("ou", {"mean": 0.0, "sigma": 1.0, "tau": 0.0}, "ou.tau must be a finite number > 0"),
        ("ou", {"mean": 0.0, "sigma": -1.0, "tau": 5.0}, "ou.sigma must be a finite number >= 0"),
        ("paper", {"waveform": "cosine"}, "paper.waveform must be one of constant"),
        ("step", {"amplitude": "big"}, "step.amplitude must be a number"),
    ],
)
def test_bad_families(kind: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        InputFamily(kind, params)


def test_the_two_conventions_against_an_euler_oracle(tmp_path: Path) -> None:
    """A leaky integrator under a ramp, stepped by the torch engine with each convention's
    input, equals forward Euler with I(t_k) (Brian2's) or I(t_(k+1)) (the paper's MATLAB)."""
    from brian2 import namp

    import spikebridge as sb

    from .test_errors import GOOD

    model_file = tmp_path / "leaky.py"
    model_file.write_text(GOOD.replace('THRESHOLD = "v > 10*mV"', 'THRESHOLD = "v > 1000*mV"'))
    model = sb.load_model(model_file)
    n, dt_ms = 300, 0.1
    ramp = InputFamily("ramp", {"slope": 0.002})  # nA per ms
    r, tau = 100e6, 10e-3
    for sample in ("start", "end"):
        current = ramp.currents(n, dt_ms, sample=sample) * 1e-9  # A
        result = sb.simulate(
            model, engine="torch", method="euler", n_steps=n, inputs={"I": current * 1e9 * namp}
        )
        v, expected = 0.0, []
        for k in range(n):
            v = v + dt_ms * 1e-3 * (-v + r * current[k]) / tau
            expected.append(v)
        assert np.allclose(result.traces["v"][:, 0], expected, rtol=1e-9, atol=1e-15), sample
