"""The Fit-DNN study end to end at the --quick size, through the CLI."""

from __future__ import annotations

import json

import pytest

from spikebridge.cli import main
from spikebridge.errors import InputError
from spikebridge.studies.fit_dnn import fit_dnn_study_from_dict, load_fit_dnn_study


def test_quick_study_via_cli(tmp_path, capsys) -> None:
    out = tmp_path / "fit"
    assert main(["study", "fit-dnn", "--quick", "--out", str(out), "--no-progress"]) == 0
    results = json.loads((out / "results.json").read_text())
    runs = results["classify"]["fashion-mnist"]
    assert set(runs) == {"16", "32"}
    for run in runs.values():  # ten classes, 2,000 images, 2 epochs: measured 0.60, 0.72
        assert run["accuracy_by_mode"]["dde"] > 0.5
        assert len(run["history"]) == 2
    assert "skipped" in results["classify"]["mnist"] or "16" in results["classify"]["mnist"]
    thetas = [row["theta"] for row in results["agreement"]]
    assert thetas == [0.5, 4.0]
    # the equivalent network approaches the delay system as theta grows
    small, large = results["agreement"]
    assert large["mean_abs_logit_difference"] < small["mean_abs_logit_difference"]
    d = results["denoise"]
    assert d["history"][-1]["test_mse"] < d["noisy_input_mse"]
    bridge = results["bridge"]
    assert bridge["samples"] == 16 and bridge["agreement"] == 1.0
    assert bridge["max_abs_logit_difference"] < 1e-9
    report = (out / "report.md").read_text()
    assert "Bridge: the trained classifier in Brian2" in report
    for name in ("accuracy_vs_nodes", "accuracy_by_epoch", "agreement_vs_theta"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    assert "Brian2 bridge: agreement 100.00 %" in capsys.readouterr().out
    # a second run into the same folder is refused; --resume reuses every checkpoint
    assert main(["study", "fit-dnn", "--quick", "--out", str(out), "--no-progress"]) == 2
    assert main(["study", "fit-dnn", "--quick", "--out", str(out), "--resume"]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["classify"]["fashion-mnist"]["16"]["history"] == runs["16"]["history"]


def test_preset_and_study_file_checks(tmp_path) -> None:
    study = load_fit_dnn_study("fashion")
    assert study.classify_nodes == (50, 100, 200, 400)
    assert study.network.loops == 50 and study.training.epochs == 20
    with pytest.raises(InputError, match="unknown sections"):
        fit_dnn_study_from_dict({"classfy": {"nodes": [10]}})
    with pytest.raises(InputError, match="missing \\['thetas'\\]"):
        fit_dnn_study_from_dict({"agreement": {"nodes": 10}})
    with pytest.raises(InputError, match="not among the \\[classify\\] nodes"):
        fit_dnn_study_from_dict(
            {"classify": {"nodes": [10]}, "bridge": {"nodes": 20, "samples": 5}}
        )
    with pytest.raises(InputError, match="unknown data set"):
        fit_dnn_study_from_dict({"study": {"datasets": ["cifar"]}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_fit_dnn_study(bad)
