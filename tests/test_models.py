"""Every model file loads, is complete, and its values are resolved consistently."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import ms, mV

import spikebridge as sb
from spikebridge.brian.program import step_program

EXPECTED = {
    "hh", "hh_rest0", "lif", "tv_lif", "tv_lif2hh", "s_lif2hh", "lif_dl", "hh_dl", "s_lif2hh_dl",
    "lif_coba", "lif_cuba", "hh_coba",  # the neurons of the classic networks in networks/
}  # fmt: skip


def test_catalogue_lists_every_model_of_the_issue() -> None:
    assert set(sb.list_models()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_model_file_is_complete(name: str) -> None:
    model = sb.load_model(name)
    assert "::" in model.doc, "the docstring states the equations in a literal block"
    assert model.method in model.methods
    assert model.events, "every model has a spike condition"
    assert set(model.inputs) <= set(model.parameter_names)
    for var in model.membrane:
        assert var in model.state_variables or var in model.subexpression_names
    values = model.parameter_values(3)
    assert set(values) == set(model.parameter_names)
    assert all(np.all(np.isfinite(v)) for v in values.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_supported_method_gives_brian2_code(name: str) -> None:
    model = sb.load_model(name)
    for method in model.methods:
        program = step_program(model, method)
        assert program.blocks[0].kind == "stateupdate"
        assert {b.event for b in program.blocks if b.kind == "threshold"} == set(model.event_names)


def test_hh_rest0_is_hh_shifted_by_65_mV() -> None:
    hh, rest0 = sb.load_model("hh"), sb.load_model("hh_rest0")
    assert rest0.equations == hh.equations  # one definition of the dynamics
    for name in ("E_Na", "E_K", "E_L", "V_hh0"):
        shift = float(rest0.parameters[name] - hh.parameters[name])
        assert shift == pytest.approx(float(65 * mV), abs=1e-12)


def test_random_parameters_are_reproducible_per_seed() -> None:
    model = sb.load_model("hh_dl")
    a, b, c = (model.parameter_values(5, seed=s) for s in (1, 1, 2))
    assert np.array_equal(a["alpha_m"], b["alpha_m"]) and a["alpha_m"].shape == (5,)
    assert not np.array_equal(a["alpha_m"], c["alpha_m"])
    assert np.all((a["alpha_m"] >= 0) & (a["alpha_m"] < 0.01))


def test_shared_random_parameters_draw_one_value() -> None:
    values = sb.load_model("s_lif2hh_dl").parameter_values(7)
    assert values["a_1"].shape == () and 0 <= float(values["a_1"]) < 1 / np.sqrt(3)


def test_overrides_take_units_and_per_neuron_arrays() -> None:
    model = sb.load_model("lif")
    values = model.parameter_values(3, {"tau_m": [5, 10, 20] * ms})
    assert np.allclose(values["tau_m"], [5e-3, 10e-3, 20e-3])


def test_models_ship_inside_the_package() -> None:
    import spikebridge.equations as equations

    assert equations.__name__ == "spikebridge.equations"
    assert sb.load_model("hh").source.endswith("hh.py")
