"""The brian2modelfitting baseline of benchmarks/fitting.py: its Brian2 runtime fit reports
the error spikebridge's own engine and metric give for the same parameters, within budget."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from spikebridge.errors import InputError
from spikebridge.studies.fit_study import conditions, currents, simulate_entry, study_loss
from spikebridge.studies.study_file import load_study_file

pytest.importorskip("nevergrad")
ROOT = Path(__file__).resolve().parents[1]


def _baseline() -> ModuleType:
    path = ROOT / "benchmarks" / "modelfitting_baseline.py"
    spec = importlib.util.spec_from_file_location("modelfitting_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["modelfitting_baseline"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("method", ["CMA", "DE"])
def test_the_baseline_fit_reports_the_error_of_its_parameters(method: str) -> None:
    baseline = _baseline()
    study = load_study_file(ROOT / "studies" / "adex_to_hh.toml")
    study = replace(
        study,
        duration_s=0.04,
        optimiser=replace(study.optimiser, popsize=4, generations=2, compile="none"),
    )
    conds = conditions(study)
    train = [i for i, c in enumerate(conds) if c.split == "train"][:2]
    current = currents(study, conds)[:, train]
    targets = simulate_entry(study, study.reference, current, engine="torch", device="cpu")
    fit = baseline.fit(study, study.candidates[0], current, targets, method=method)
    entry = study.candidates[0]
    for p in entry.free:
        assert p.low <= fit["values"][p.name] <= p.high
    rounds = fit["budget"]["generations"]
    per_round = 30 if method == "DE" else 4  # nevergrad's DE draws 30 whatever it is asked
    assert fit["budget"]["candidates"] == rounds * per_round
    assert rounds == max(1, 8 // per_round)
    values = {k: np.full(current.shape[1], v) for k, v in fit["values"].items()}
    trains = simulate_entry(study, entry, current, values, engine="torch", device="cpu")
    again = study_loss(trains, targets, 40.0, study.metrics.window_ms, 0.0, "gamma")
    assert fit["loss"] == pytest.approx(again, abs=1e-9)


def test_the_baseline_refuses_what_brian2modelfitting_cannot_search() -> None:
    baseline = _baseline()
    study = load_study_file(ROOT / "studies" / "lif_to_hh.toml")  # log and relative bounds
    with pytest.raises(InputError, match=r"absolute linear bounds.*tau_m, R_m, v_reset"):
        baseline.check_linear(study.candidates[0])
    from spikebridge.studies.study_file import preset_path

    chained = load_study_file(preset_path("paper-chains"))  # two-layer chains
    with pytest.raises(InputError, match="one neuron per candidate"):
        baseline.check_linear(chained.candidates[0])


def test_a_study_runs_with_the_baseline_as_its_fitter(tmp_path: Path) -> None:
    """run_fit_study(fitter=...): the baseline fits, the study's evaluation judges it, the
    cache key tells it from the study's own optimiser, and a trace loss is refused."""
    from spikebridge.studies.fit_study import run_fit_study

    baseline = _baseline()
    study = load_study_file(ROOT / "studies" / "adex_recovery.toml")
    study = replace(
        study,
        duration_s=0.04,
        engine="torch",
        device="cpu",
        optimiser=replace(study.optimiser, popsize=4, generations=2, compile="none"),
    )
    results = run_fit_study(study, tmp_path / "out", fitter=baseline.fitter("CMA"))
    fit = results["candidates"]["adex"]["fit"]
    assert "brian2modelfitting" in fit["method"] and fit["budget"]["candidates"] == 8
    assert "fit_like_brian2modelfitting[CMA]" in results["settings"]["fits_run_on"]
    own = run_fit_study(study, tmp_path / "out")  # same folder: not the baseline's cache
    assert "brian2modelfitting" not in own["candidates"]["adex"]["fit"].get("method", "")
    traced = replace(study, metrics=replace(study.metrics, loss="trace"))
    with pytest.raises(InputError, match="trace loss is fitted by the study's own optimisers"):
        run_fit_study(traced, tmp_path / "traced", fitter=baseline.fitter("CMA"))
