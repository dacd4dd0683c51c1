"""The decay <-> time-constant maps agree with the generated steps of the LIF model."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import ms, mV

import spikebridge as sb
from spikebridge.discretize import decay_from_tau, tau_from_decay


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_decay_matches_the_generated_lif_step(method: str) -> None:
    """Without input, v - E_L shrinks by beta every step of the generated step function."""
    result = sb.simulate(
        "lif", engine="torch", method=method, n_steps=5, dt=0.5 * ms,
        initial={"v": -55 * mV}, parameters={"tau_m": 10 * ms, "v_th": 0 * mV},
    )  # fmt: skip
    distance = result.traces["v"][:, 0] - (-65e-3)
    ratios = distance[1:] / distance[:-1]
    assert np.allclose(ratios, decay_from_tau(10 * ms, 0.5 * ms, method), rtol=1e-12)


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_round_trip(method: str) -> None:
    beta = decay_from_tau(np.array([2.0, 10.0, 50.0]), 1.0, method)
    assert np.allclose(tau_from_decay(beta, 1.0, method), [2.0, 10.0, 50.0])


def test_the_papers_decay_as_a_time_constant() -> None:
    # lif_dl's decay 0.2 per 1-ms Euler step is a 1.25 ms time constant
    assert tau_from_decay(0.2, 1.0, "euler") == pytest.approx(1.25)
    with pytest.raises(ValueError, match="below 1"):
        tau_from_decay(1.2, 1.0, "euler")
