"""The command line: models, show, parity, and its error handling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import spikebridge as sb
from spikebridge.cli import main


def test_models_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == sb.list_models()


def test_models_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tv_lif2hh" in out and "exponential_euler" in out


def test_show_prints_the_generated_torch_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "hh", "--method", "euler", "--torch"]) == 0
    source = capsys.readouterr().out
    assert "def step(state, params, t, dt, spike_fn):" in source
    assert "Brian2's 'euler' code for model 'hh'" in source and "_0F.exprel(" in source


def test_parity_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parity", "lif_dl", "--device", "numpy", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("model", "method", "dtype", "max_abs_v", "spikes_brian2", "spikes_torch",
                "spike_steps_equal"):  # fmt: skip
        assert key in report
    assert report["spike_steps_equal"] is True and report["spikes_brian2"] > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["parity", "nope"], "Unknown model 'nope'"),
        (["parity", "hh", "--method", "rk3"], "does not support method 'rk3'"),
        (["parity", "hh", "--device", "tpu"], "Unknown Brian2 device 'tpu'"),
    ],
)
def test_errors_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["models"],
        ["show"],
        ["parity"],
        ["demo"],
        ["train"],
        ["validate"],
        ["cost"],
        ["study", "robustness"],
        ["study", "cost"],
        ["study", "information"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "spikebridge.cli", *command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "usage: spikebridge" in out


def test_cost_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    names = "lif-fc 4lif-fc hh-fc s-lif2hh-fc ann-fc lif-conv 4lif-conv hh-conv s-lif2hh-conv cnn"
    assert sorted(table["models"]) == sorted(names.split())
    hh = table["models"]["hh-fc"]
    assert hh["params"] == 690_734 and round(hh["paper_ops_m"], 3) == 20.250
    assert {"ops_m", "paper_ops_m", "params"} <= set(table["models"]["s-lif2hh-conv"])


def test_train_refuses_an_unknown_network(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "hh-transformer", "--out", "unused"])
    assert "invalid choice" in capsys.readouterr().err


def test_study_cost_writes_results_report_and_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cost"
    assert main(["study", "cost", "--out", str(out), "--no-timing"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["models"]["hh-fc"]["paper_ops_m"] == pytest.approx(20.250, abs=5e-4)
    assert "timing" not in results
    assert "| hh-fc | 690,734 |" in (out / "report.md").read_text()
    assert (out / "figures" / "operations.png").stat().st_size > 0
    assert main(["study", "cost", "--out", str(out), "--no-timing"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["study", "cost", "--out", str(out), "--no-timing", "--resume"]) == 0


def test_train_compile_takes_the_library_modes_and_refuses_others(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from spikebridge.cli import build_parser
    from spikebridge.torch.compiled import NET_MODES

    parser = build_parser()
    command = ["train", "lif-fc", "--out", "x", "--compile"]
    for mode in NET_MODES:
        assert parser.parse_args([*command, mode]).compile == mode
    with pytest.raises(SystemExit):
        parser.parse_args([*command, "fast"])
    assert "invalid choice: 'fast'" in capsys.readouterr().err
