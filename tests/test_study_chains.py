"""Two-layer chains in study files: the paper's chains written as study-file data give the
hand-written paper study's spike trains; a fitted chain parameter is recovered; bad chains
are errors that name the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tomllib

from spikebridge.cli import main
from spikebridge.errors import InputError
from spikebridge.studies.chains import (
    PAPER_W,
    TORCH,
    hh_chain,
    lif_chain,
    spike_times,
    unit_chain,
)
from spikebridge.studies.fit_study import (
    conditions,
    currents,
    entry_drive,
    fit_candidate,
    simulate_entry,
)
from spikebridge.studies.study_file import (
    load_study_file,
    preset_names,
    preset_path,
    study_from_dict,
)
from spikebridge.studies.waveforms import bin_means

UA_CM2 = 1e-2  # 1 uA/cm2 in A/m2


def _paper_chains(duration: str = "20 ms") -> dict[str, Any]:
    data = tomllib.loads(preset_path("paper-chains").read_text())
    data["study"].update(duration=duration, engine="torch", device="cpu")
    data["inputs"] = [
        {"family": "paper", "params": {"waveform": "sine"}, "levels": [1.0, 1.6], "split": s}
        for s in ("train", "test")
    ]
    return data


def test_the_paper_chains_as_a_study_file_give_the_paper_studys_trains() -> None:
    study = study_from_dict(_paper_chains())
    conds = conditions(study)
    current = currents(study, conds)  # (steps, C) in A/m2 on the HH's 0.001-ms step
    x = current / UA_CM2
    reference = hh_chain(x, TORCH)
    trains = simulate_entry(study, study.reference, current, engine="torch", device="cpu")
    assert sum(len(t) for t in reference.layer2) > 0
    for got, expected in zip(trains, reference.layer2, strict=True):
        np.testing.assert_array_equal(got, expected)
    unit, lif = study.candidates
    _, bins = entry_drive(study, unit, current)  # the s-LIF2HH's 1-ms means
    np.testing.assert_allclose(bins / UA_CM2, bin_means(x.T, 1000).T, rtol=1e-12)
    n = current.shape[1]
    w = np.array([PAPER_W, 2e4, 3e4, 1e5][:n])
    expected_unit = unit_chain(bins / UA_CM2, {}, w, TORCH)
    got_unit = simulate_entry(study, unit, current, {"W": w}, engine="torch", device="cpu")
    assert sum(len(t) for t in expected_unit.layer2) > 0
    for got, expected in zip(got_unit, expected_unit.layer2, strict=True):
        np.testing.assert_array_equal(got, expected)
    from brian2 import ms, mV, ohm

    lif_values = {"tau_m": 10e-3, "R_m": 3e3, "E_L": 0.0, "v_th": 5e-3, "v_reset": 0.0}
    w_lif = np.array([50.0, 100.0, 10.0, 30.0][:n])
    expected_lif = lif_chain(
        bins / UA_CM2,
        {"tau_m": 10 * ms, "R_m": 3e3 * ohm, "E_L": 0 * mV, "v_th": 5 * mV},
        w_lif,
        TORCH,
    )
    values = {k: np.full(n, v) for k, v in lif_values.items()} | {"W": w_lif}
    got_lif = simulate_entry(study, lif, current, values, engine="torch", device="cpu")
    assert sum(len(t) for t in expected_lif.layer2) > 0
    for got, expected in zip(got_lif, expected_lif.layer2, strict=True):
        np.testing.assert_array_equal(got, expected)


def _written_out_chains(x: np.ndarray, bins: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    """The paper's HH and s-LIF2HH chains written out by hand (no chain expressions): the
    independent form the data-driven chains must reproduce."""
    from brian2 import cm, ms, mV, uamp

    density = uamp / cm**2
    steps, n = x.shape
    common = {"n_steps": steps, "n": n, "dt": 0.001 * ms, "record": ("v",)}
    first = TORCH.run("hh_rest0", inputs={"I": x * density}, **common)
    pulses = 100.0 * (first.traces["v"] > float(70 * mV))
    second = TORCH.run("hh_rest0", inputs={"I": pulses * density}, **{**common, "record": ()})
    unit_common = {"n_steps": bins.shape[0], "n": n, "record": ()}
    unit1 = TORCH.run("s_lif2hh", inputs={"I": bins * density}, **unit_common)

    def crossing(k: int) -> np.ndarray:
        out = np.zeros((unit1.n_steps, n))
        rows = unit1.spikes[f"cross_{k}"]
        out[rows[:, 0], rows[:, 1]] = 1.0
        return out

    synaptic = {f"I_syn_{k}": (w * crossing(k) + crossing(4)) * density for k in (1, 2, 3)}
    unit2 = TORCH.run("s_lif2hh", inputs=synaptic, **unit_common)
    return {"hh": spike_times(second), "unit": spike_times(unit2)}


def test_the_chains_equal_the_paper_chains_written_out_by_hand() -> None:
    study = study_from_dict(_paper_chains())
    conds = conditions(study)
    current = currents(study, conds)
    x = current / UA_CM2
    _, bins = entry_drive(study, study.candidates[0], current)
    w = np.array([PAPER_W, 2e4, 3e4, 1e5][: current.shape[1]])
    expected = _written_out_chains(x, bins / UA_CM2, w)
    got_hh = simulate_entry(study, study.reference, current, engine="torch", device="cpu")
    got_unit = simulate_entry(
        study, study.candidates[0], current, {"W": w}, engine="torch", device="cpu"
    )
    assert sum(map(len, expected["hh"])) > 0 and sum(map(len, expected["unit"])) > 0
    for got, want in [(got_hh, expected["hh"]), (got_unit, expected["unit"])]:
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)


LIF_CHAIN = """
[study]
duration = "200 ms"
input_unit = "nA"
engine = "torch"

[reference]
model = "lif"
parameters = { t_ref = "2 ms" }
layer2 = { drive = { I = "w * spike * nA" }, parameters = { w = 12.0 } }

[[candidates]]
model = "lif"
parameters = { t_ref = "2 ms" }
free.v_th = { low = "-55 mV", high = "-45 mV" }
free.w = { low = 1.0, high = 100.0, scale = "log" }
layer2 = { drive = { I = "w * spike * nA" } }

[[inputs]]
family = "ou"
params = { mean = 0.3, sigma = 0.08, tau = 5.0 }
seeds = [1, 2, 3]
split = "train"

[[inputs]]
family = "ou"
params = { mean = 0.3, sigma = 0.08, tau = 5.0 }
seeds = [11]
split = "test"

[optimiser]
method = "cma"
popsize = 10
generations = 12
compile = "none"
"""


def test_a_chain_weight_is_fitted_with_the_neurons_parameters(tmp_path: Path) -> None:
    path = tmp_path / "chain.toml"
    path.write_text(LIF_CHAIN)
    study = load_study_file(path)
    candidate = study.candidates[0]
    assert candidate.chain is not None and candidate.chain_parameters == {"w"}
    conds = conditions(study)
    current = currents(study, conds)
    train = [i for i, c in enumerate(conds) if c.split == "train"]
    targets = simulate_entry(study, study.reference, current, engine="torch", device="cpu")
    layer1 = simulate_entry(
        study,
        study.reference.__class__(**{**study.reference.__dict__, "chain": None}),
        current,
        engine="torch",
        device="cpu",
    )
    assert sum(map(len, targets)) > 0
    assert sum(map(len, targets)) != sum(map(len, layer1))  # the output is layer 2's
    fit = fit_candidate(study, candidate, current[:, train], [targets[i] for i in train])
    assert fit["values"]["v_th"] == pytest.approx(-50e-3, abs=0.5e-3)  # measured: -49.95 mV
    assert fit["values"]["w"] == pytest.approx(12.0, rel=0.1)  # measured: 12.36
    assert fit["shown"]["w"] == f"{fit['values']['w']:.6g}"  # dimensionless, no unit


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drive": {"I": "w * spike"}, "parameters": {"w": 1.0}}, "units of 1, but .I. needs A"),
        ({"drive": {"I": "w * spike * nA"}}, "'w' is neither"),
        ({"drive": {"J": "spike * nA"}}, "'J' is not a parameter of 'lif'"),
        ({"drive": {"I": "print(1) * nA"}}, "not Call"),
        ({"drive": {"I": "(v > 3) * nA"}}, "units"),
        ({"drive": {}}, "at least one input"),
        ({"drive": "I = spike * nA"}, "at least one input"),
        ({"drive": {"I": "w * spike * nA"}, "parameters": 5}, "parameters must be a table"),
        (
            {"drive": {"I": "spike ** w * nA"}, "parameters": {"w": 1.0}},
            "exponent must be a number",
        ),
        ({"drive": {"I": "spike * nA"}, "parameters": {"spike": 2.0}}, "a variable of 'lif'"),
        ({"drive": {"I": "-" * 5000 + "spike * nA"}}, "keep it under 1000"),
        ({"drive": {"I": "spike * nA +"}}, "is not an expression"),
        ({"drive": {"I": "spike * nA"}, "weights": 1}, "no entry 'weights'"),
        (
            {"drive": {"I": "tau_m * spike * nA / ms"}, "parameters": {"tau_m": "1 ms"}},
            "a variable of 'lif'",
        ),
    ],
)
def test_a_bad_chain_is_an_error_naming_the_fix(change: dict[str, Any], message: str) -> None:
    data = tomllib.loads(LIF_CHAIN)
    data["reference"]["layer2"] = change
    with pytest.raises(InputError, match=message):
        study_from_dict(data)


def test_a_drive_may_not_override_a_fixed_or_fitted_parameter_nor_be_infinite() -> None:
    data = tomllib.loads(LIF_CHAIN)
    data["candidates"][0]["layer2"] = {"drive": {"v_th": "w * spike * mV"}}
    with pytest.raises(InputError, match=r"drives v_th, which candidates\[0\] also fixes or fits"):
        study_from_dict(data)
    data = tomllib.loads(LIF_CHAIN)
    data["reference"]["layer2"] = {"drive": {"I": "nA / spike"}}
    study = study_from_dict(data)
    current = currents(study, conditions(study))
    with pytest.raises(InputError, match="is not finite in some step"):
        simulate_entry(study, study.reference, current, engine="torch", device="cpu")


def test_an_entrys_own_step_is_checked_for_its_model_on_loading() -> None:
    data = tomllib.loads(preset_path("paper-chains").read_text())
    data["candidates"][0]["dt"] = "0.5 ms"  # s-LIF2HH is a map defined at 1 ms
    with pytest.raises(InputError, match=r"candidates\[0\]\.dt: .*discrete-time map"):
        study_from_dict(data)


def test_chains_are_refused_where_they_cannot_be_fitted() -> None:
    data = tomllib.loads(LIF_CHAIN)
    data["optimiser"] = {"method": "adam"}
    with pytest.raises(InputError, match="carry no gradient"):
        study_from_dict(data)
    data = tomllib.loads(LIF_CHAIN)
    data["candidates"][0]["free"]["x"] = {"low": 0, "high": 1}
    with pytest.raises(InputError, match="or of its layer2 drive"):
        study_from_dict(data)


def test_presets_are_listed_and_run_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "paper-chains" in preset_names()
    with pytest.raises(InputError, match="No preset study 'nope'"):
        preset_path("nope")
    with pytest.raises(SystemExit):  # argparse refuses an unknown preset
        main(["study", "equivalence", "--preset", "nope", "--out", str(tmp_path)])
    spec = tmp_path / "s.toml"
    spec.write_text(LIF_CHAIN)
    both = ["--spec", str(spec), "--preset", "paper-chains", "--out", str(tmp_path)]
    assert main(["study", "equivalence", *both]) == 2
    assert "not both" in capsys.readouterr().err
    quick = ["--preset", "paper-chains", "--quick", "--out", str(tmp_path)]
    assert main(["study", "equivalence", *quick]) == 2
    assert "--quick shortens the built-in paper study" in capsys.readouterr().err
