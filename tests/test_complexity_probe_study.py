"""The complexity-probe study end to end at toy size: a study file with two Brian2 teachers
(one calibrated to a target rate), TCN students of depth 1 and 2, the report, resuming, and
the refusals (an existing folder without --resume, a bad study file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from spikebridge.cli import main
from spikebridge.errors import InputError
from spikebridge.studies.complexity_probe import (
    load_probe_study,
    probe_preset_names,
    probe_study_from_dict,
)

from .test_probe_data import IF_TEACHER

STUDY = """
[study]
name = "toy"
duration_ms = 1000
train = 8
valid = 3
test = 3
seed = 2
chunk = 7
compare = [["if", "if-fast"]]

[students]
depths = [1, 2]
width = 4
extent = 20
paper_if = true
window_ms = 200
batch = 8
max_steps = 12
eval_every = 6
patience = 2
burn_in_ms = 200

[[teachers]]
name = "if"
model = "lif"
dt = "1 ms"
synapse = "delta"
target = "v"
exc_weight = "4 mV"
inh_weight = "-4 mV"
initial = { v = "-75 mV" }
soma_ceiling = "-54.9 mV"
[teachers.parameters]
E_L = "-75 mV"
tau_m = "20 ms"
v_th = "-55 mV"
v_reset = "-75 mV"
t_ref = "0 ms"

[[teachers]]
name = "if-fast"
model = "lif"
dt = "1 ms"
synapse = "delta"
target = "v"
exc_weight = "2 mV"
inh_weight = "-2 mV"
initial = { v = "-75 mV" }
soma_ceiling = "-54.9 mV"
target_rate = "8 Hz"
[teachers.parameters]
E_L = "-75 mV"
tau_m = "10 ms"
v_th = "-55 mV"
v_reset = "-75 mV"
t_ref = "0 ms"
"""


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_study_runs_reports_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    study_file = tmp_path / "toy.toml"
    study_file.write_text(STUDY)
    out = tmp_path / "probe"
    args = ["study", "complexity-probe", "--file", str(study_file), "--out", str(out)]
    assert main([*args, "--device", "numpy", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert set(results["teachers"]) == {"if", "if-fast"}
    for name, entry in results["teachers"].items():
        assert set(entry["students"]) == {"d1-w1-k80-linear", "d1-w4-k20", "d2-w4-k10.10"}
        assert set(entry["auc_by_depth"]) == {"1", "2"}
        assert entry["functional_depth"] in (1, 2)
        # Depth 1 is the better (on validation) of the 1-unit linear and the 4-unit student.
        ones = ("d1-w1-k80-linear", "d1-w4-k20")
        best = max(ones, key=lambda n: entry["students"][n]["valid"]["spike_auc"])
        assert entry["student_by_depth"] == {"1": best, "2": "d2-w4-k10.10"}
        assert entry["auc_by_depth"]["1"] == entry["students"][best]["test"]["spike_auc"]
        assert entry["output_rate_hz"] > 0
        for student in entry["students"].values():
            assert 0.0 <= student["test"]["spike_auc"] <= 1.0
            assert student["steps"] <= 12
        assert f"{name}" in printed
    # The calibrated teacher's gain was found and used for its data.
    calibration = results["teachers"]["if-fast"]["calibration"]
    assert calibration["target_hz"] == 8.0
    assert results["teachers"]["if-fast"]["teacher"]["gain"] == calibration["gain"]
    assert results["teachers"]["if"]["calibration"] is None
    comparison = results["comparisons"][0]
    assert comparison["teachers"] == ["if", "if-fast"]
    assert set(comparison["auc_difference_by_depth"]) == {"1", "2"}
    report = (out / "report.md").read_text()
    assert "if-fast" in report and "functional depth" in report.lower()
    for figure in ("auc_vs_depth", "soma_ev_vs_depth", "calibration"):
        assert (out / "figures" / f"{figure}.png").stat().st_size > 0

    # An existing study folder is never overwritten; --resume reuses everything there.
    assert main([*args, "--device", "numpy", "--no-progress"]) == 2
    assert "pass --resume" in capsys.readouterr().err
    fitted = out / "students" / "if" / "d2-w4-k10.10.json"
    before = fitted.stat().st_mtime_ns
    assert main([*args, "--device", "numpy", "--no-progress", "--resume"]) == 0
    assert fitted.stat().st_mtime_ns == before
    resumed = json.loads((out / "results.json").read_text())["teachers"]
    for name, entry in results["teachers"].items():
        for key in ("students", "auc_by_depth", "functional_depth", "calibration", "teacher"):
            assert resumed[name][key] == entry[key], (name, key)
        assert resumed[name]["data_seconds_this_run"] < entry["data_seconds_this_run"]


def test_presets_load_and_bad_study_files_are_named(tmp_path: Path) -> None:
    assert "point-neurons" in probe_preset_names()
    study = load_probe_study("point-neurons")
    assert [t.name for t in study.teachers] == ["if", "hh", "s-lif2hh"]
    assert (study.train, study.valid, study.test, study.duration_ms) == (300, 40, 40, 6000)
    quick = study.quick()
    assert quick.simulations < study.simulations and max(quick.depths) <= 2
    with pytest.raises(InputError, match="No probe study file"):
        load_probe_study(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_probe_study(bad)
    with pytest.raises(InputError, match="unknown keys"):
        probe_study_from_dict({"study": {"trains": 3}, "teachers": []})
    with pytest.raises(InputError, match="has no teacher"):
        probe_study_from_dict({"study": {"name": "empty"}})
    with pytest.raises(InputError, match="compare"):
        probe_study_from_dict({"study": {"compare": [["if", "hh"]]}, "teachers": [IF_TEACHER]})


def test_cli_passes_quick_devices_and_resume(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import spikebridge.studies.complexity_probe as probe

    seen: dict[str, object] = {}

    def fake_run(out: object, study: probe.ProbeStudy, **options: object) -> dict:
        seen.update(out=out, study=study, **options)
        return {"teachers": {}, "comparisons": []}

    monkeypatch.setattr(probe, "run_complexity_probe", fake_run)
    args = ["study", "complexity-probe", "--quick", "--out", str(tmp_path)]
    assert main([*args, "--device", "numpy", "--train-device", "meta", "--resume"]) == 0
    assert seen["study"] == load_probe_study("point-neurons").quick()
    assert (seen["device"], seen["train_device"], seen["resume"]) == ("numpy", "meta", True)
    assert seen["progress"] is True
    assert main(["study", "complexity-probe", "--out", str(tmp_path), "--no-progress"]) == 0
    assert seen["study"] == load_probe_study("point-neurons") and seen["progress"] is False
