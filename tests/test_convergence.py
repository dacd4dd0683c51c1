"""Numerics: the generated steps converge to an independent DOP853 reference at their order,
and the HH rate functions are finite (with finite gradients) at their removable singularities."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from brian2 import cm, ms, mV, uamp

import spikebridge as sb
from spikebridge.torch.codegen import torch_step
from spikebridge.torch.loop import initial_state, observe

from .oracle import reference

#: Expected global order of each method (exponential Euler is first order in general).
ORDER = {"euler": 1, "exponential_euler": 1, "rk2": 2, "rk4": 4}
#: Sub-threshold HH: -2 uA/cm2 for 4 ms from the -70 mV steady state (no rebound spike).
T_END = 4e-3


def _error(method: str, dt_ms: float) -> float:
    model = sb.load_model("hh")
    n_steps = round(T_END / (dt_ms * 1e-3))
    result = sb.simulate(
        model,
        engine="torch",
        method=method,
        dt=dt_ms * ms,
        n_steps=n_steps,
        parameters={"I": -2 * uamp / cm**2},
        record=model.state_variables,
    )
    values = model.parameter_values(1, {"I": -2 * uamp / cm**2})
    y0 = np.array([float(model.initial_values(1)[name]) for name in model.state_variables])
    exact = reference(model, {k: float(v) for k, v in values.items()}, y0, T_END, result.t)
    v = result.traces["v"][:, 0]
    assert np.max(v) < -0.04, "the convergence run must stay sub-threshold"
    return float(np.max(np.abs(v - exact[:, 0])))


@pytest.mark.parametrize("method", ["euler", "exponential_euler", "rk2", "rk4"])
def test_hh_converges_to_dop853_at_the_method_order(method: str) -> None:
    # Steps within every method's MAX_DT (equations/hh.py); rk4 errors reach 5e-13 V at
    # 0.0125 ms, still well above the DOP853 reference's own error.
    dts = [0.04, 0.02, 0.01, 0.005] if method != "rk4" else [0.05, 0.025, 0.0125]
    errors = [_error(method, dt) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    # Fitted slope within 0.3 of the order: pre-asymptotic curvature stays below that here.
    assert abs(slope - ORDER[method]) < 0.3, (method, dts, errors, slope)
    assert errors[-1] < 1e-4 if method == "rk4" else errors[-1] < 5e-3  # volts: 0.1 / 5 mV


def test_brian2_euler_matches_the_same_reference() -> None:
    model = sb.load_model("hh")
    result = sb.simulate(
        model,
        engine="brian2",
        device="numpy",
        method="euler",
        dt=0.005 * ms,
        n_steps=800,
        parameters={"I": -2 * uamp / cm**2},
        record=("v",),
    )
    values = {k: float(v) for k, v in model.parameter_values(1, {"I": -2 * uamp / cm**2}).items()}
    y0 = np.array([float(model.initial_values(1)[n]) for n in model.state_variables])
    exact = reference(model, values, y0, T_END, result.t)
    assert np.max(np.abs(result.traces["v"][:, 0] - exact[:, 0])) < 5e-4


@pytest.mark.parametrize("name", ["alpha_m", "alpha_n"])
@pytest.mark.parametrize("model_name", ["hh", "hh_rest0"])
def test_rate_functions_are_finite_at_their_removable_singularities(
    model_name: str, name: str
) -> None:
    model = sb.load_model(model_name)
    generated = torch_step(model)
    v0 = float(model.parameters["V_hh0"])
    singular = v0 + float((25 if name == "alpha_m" else 10) * mV)
    limit = 1000.0 if name == "alpha_m" else 100.0  # 1/ms and 0.1/ms, in 1/s
    v = torch.tensor(
        [singular, singular + 1e-9, singular - 1e-9], dtype=torch.float64, requires_grad=True
    )
    values = {**model.initial_values(3), "v": v.detach().numpy()}
    state = initial_state(generated, values, (3,), torch.float64)
    state = state._replace(v=v)
    params = {k: torch.as_tensor(x) for k, x in model.parameter_values(3).items()}
    rate = observe(generated, state, params, torch.tensor(0.0), 1e-5, name)
    assert torch.all(torch.isfinite(rate))
    assert rate[0].item() == pytest.approx(limit, rel=1e-12)
    assert rate[1:].detach().numpy() == pytest.approx([limit, limit], rel=1e-6)
    (grad,) = torch.autograd.grad(rate.sum(), v)
    assert torch.all(torch.isfinite(grad))
