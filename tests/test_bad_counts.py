"""Counts, sizes, seeds and amounts: every command-line option and API entry point refuses
non-positive, non-integral or non-finite values with the same message (spikebridge.checks),
instead of rounding them or running one step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from brian2 import ms, second

from spikebridge import checks
from spikebridge.cli import main
from spikebridge.errors import InputError

from .test_errors import GOOD


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (checks.count, 0, "integer >= 1, got 0"),
        (checks.count, -5, "integer >= 1, got -5"),
        (checks.count, 2.0, "integer >= 1, got 2.0"),
        (checks.count, 2.5, "integer >= 1, got 2.5"),
        (checks.count, True, "integer >= 1, got True"),
        (checks.count, "3", "integer >= 1, got '3'"),
        (checks.index, -1, "integer >= 0, got -1"),
        (checks.positive, 0.0, "number > 0, got 0.0"),
        (checks.positive, float("nan"), "number > 0, got nan"),
        (checks.positive, float("inf"), "number > 0, got inf"),
        (checks.non_negative, -0.5, "number >= 0, got -0.5"),
    ],
)
def test_checks_refuse(check: Callable[[Any, str], Any], value: Any, message: str) -> None:
    with pytest.raises(InputError, match=f"^x must be .*{message}"):
        check(value, "x")


def test_checks_accept() -> None:
    import numpy as np

    assert checks.count(np.int64(3), "x") == 3 and type(checks.count(np.int64(3), "x")) is int
    assert checks.index(0, "x") == 0
    assert checks.positive(1e-9, "x") == 1e-9 and checks.non_negative(0, "x") == 0.0


# every option of the command line that takes a count, a seed or an amount
BAD_OPTIONS = [
    ["parity", "lif", "--duration", "-5"],
    ["parity", "lif", "--duration", "0"],
    ["parity", "lif", "--duration", "nan"],
    ["train", "lif-fc", "--out", "x", "--epochs", "0"],
    ["train", "lif-fc", "--out", "x", "--subset", "-1"],
    ["train", "lif-fc", "--out", "x", "--test-subset", "0"],
    ["train", "lif-fc", "--out", "x", "--seed", "-1"],
    ["train", "lif-fc", "--out", "x", "--steps", "2.5"],
    ["train", "lif-fc", "--out", "x", "--batch-size", "0"],
    ["train", "lif-fc", "--out", "x", "--lr", "0"],
    ["train", "lif-fc", "--out", "x", "--noise", "-1"],
    ["validate", "x", "--samples", "0"],
    ["cost", "--steps", "0"],
    ["cost", "--batch", "-1"],
    ["cost", "--repeats", "0"],
    ["doctor", "--workers", "0"],
    ["network", "run", "coba", "--out", "x", "--duration", "-1"],
    ["network", "run", "coba", "--out", "x", "--threads", "-1"],
    ["network", "parity", "coba", "--duration", "0"],
    ["network", "validate", "coba", "--inputs", "x.npz", "--samples", "0"],
    ["network", "validate", "coba", "--inputs", "x.npz", "--steps", "-3"],
    ["nir", "import", "g.nir", "--out", "x", "--dt", "0"],
    ["nir", "import", "g.nir", "--out", "x", "--dt", "1", "--steps", "0"],
    ["nir", "import", "g.nir", "--out", "x", "--dt", "1", "--rate", "-1"],
    ["nir", "import", "g.nir", "--out", "x", "--dt", "1", "--seed", "-2"],
    ["nir", "export", "x", "g.nir", "--reader-dt", "-1"],
    ["study", "robustness", "--seeds", "1,-2"],
    ["study", "robustness", "--amplitudes", "0,-25"],
    ["study", "robustness", "--epochs", "0"],
    ["study", "robustness", "--samples", "0"],
    ["study", "robustness", "--membrane", "1,nan"],
    ["study", "robustness", "--workers", "0"],
    ["study", "cost", "--repeats", "0"],
    ["study", "information", "--epochs", "0"],
    ["study", "information", "--seed", "-1"],
    ["study", "information", "--batch-size", "1.5"],
]


@pytest.mark.parametrize("argv", BAD_OPTIONS, ids=lambda a: " ".join(a))
def test_command_line_refuses(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    option = argv[-2]  # the bad value is the last one given
    assert f"argument {option}: must be" in error or "not a number" in error, error


def test_parity_refuses_a_duration_that_is_not_whole_steps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # lif steps 0.1 ms: 0.05 ms was rounded up to one step
    assert main(["parity", "lif", "--duration", "0.05", "--device", "numpy"]) == 2
    assert "not a whole number of steps of dt = 0.1 ms" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"duration": -5 * ms}, "duration must be a positive time"),
        ({"duration": 0 * second}, "duration must be a positive time"),
        ({"duration": 0.05 * ms}, "not a whole number of steps"),
        ({"n": 0}, r"n \(the number of neurons\) must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
    ],
)
def test_parity_api_refuses(options: dict[str, Any], message: str) -> None:
    from spikebridge.parity import parity

    with pytest.raises(InputError, match=message):
        parity("lif", device="numpy", **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_steps": 0}, "n_steps must be an integer >= 1"),
        ({"n_steps": 10.0}, "n_steps must be an integer >= 1"),
        ({"n_steps": 10, "n": 2.5}, "must be an integer >= 1"),
        ({"n_steps": 10, "seed": -3}, "seed must be an integer >= 0"),
    ],
)
def test_plan_run_refuses(options: dict[str, Any], message: str) -> None:
    from spikebridge.run import plan_run

    with pytest.raises(InputError, match=message):
        plan_run("lif", **options)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"lr": 0.0}, "lr must be a finite number > 0"),
        ({"weight_decay": -1e-5}, "weight_decay must be a finite number >= 0"),
        ({"noise_amplitude": float("nan")}, "noise_amplitude must be"),
        ({"epochs": 1.5}, "epochs must be an integer >= 1"),
    ],
)
def test_training_config_refuses(change: dict[str, Any], message: str) -> None:
    from spikebridge.learning.train import TrainConfig

    with pytest.raises(InputError, match=message):
        TrainConfig("lif-fc", **change).resolved()


def test_network_run_refuses_a_negative_seed() -> None:
    from spikebridge.network import network_from, plan_network, prepare_run

    plan = plan_network(network_from("coba", {"n": 50}))
    with pytest.raises(InputError, match="seed must be an integer >= 0"):
        prepare_run(plan, n_steps=5, seed=-1)


def test_cost_study_refuses_zero_repeats(tmp_path: Path) -> None:
    from spikebridge.studies.cost import run_cost_study

    with pytest.raises(InputError, match="repeats must be an integer >= 1"):
        run_cost_study(tmp_path, repeats=0)
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_a_model_file_without_membrane_unit_uses_its_variables_unit(
    model_file: Callable[[str], Path],
) -> None:
    import spikebridge as sb

    source = GOOD.replace("MEMBRANE_UNIT = mV\n", "")
    model = sb.load_model(model_file(source))
    assert model.membrane_unit_name == "V"
    result = sb.simulate(model, engine="torch", duration=2 * ms)
    assert result.units["v"] == "V"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seeds": (1, -1)}, "seeds must be an integer >= 0"),
        ({"amplitudes": (0.0, float("nan"))}, "amplitudes must be a finite number >= 0"),
        ({"samples": 0}, "samples must be an integer >= 1"),
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"threads": -2}, "threads must be an integer >= 0"),
        ({"strengths": {"membrane": (1.0, -1.0)}}, "membrane strengths must be"),
    ],
)
def test_robustness_settings_refuse(change: dict[str, Any], message: str) -> None:
    from dataclasses import replace

    from spikebridge.studies.robustness import RobustnessSettings

    with pytest.raises(InputError, match=message):
        replace(RobustnessSettings.quick(), **change).checked()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gamma": 1.5}, r"gamma \(the learning-rate decay\) must be in \(0, 1\]"),
        ({"gamma_every": 0}, "gamma_every must be an integer >= 1"),
        ({"ema_decay": 1.0}, r"ema_decay must be in \[0, 1\)"),
        ({"betas": (0.5, 1.0)}, r"betas\[1\] must be in \[0, 1\)"),
        ({"beta": -1e-3}, "beta must be a finite number >= 0"),
    ],
)
def test_information_settings_refuse(change: dict[str, Any], message: str) -> None:
    from spikebridge.studies.information import InformationSettings

    with pytest.raises(InputError, match=message):
        InformationSettings(**change).checked()


def test_other_api_entry_points_refuse() -> None:
    from brian2 import ms

    from spikebridge.cost import cost_table
    from spikebridge.learning.train import TrainConfig
    from spikebridge.nir import import_nir

    with pytest.raises(InputError, match=r"steps must be an integer >= 1, got 2\.5"):
        cost_table(steps=2.5)
    with pytest.raises(InputError, match="milestones must be an integer >= 1"):
        TrainConfig("lif-fc", milestones=(0, 10)).resolved()
    with pytest.raises(InputError, match="dt must be a positive time"):
        import_nir(None, dt=float("nan") * ms)


def test_network_set_without_a_value_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["network", "show", "coba", "--set", "5"]) == 2
    assert "--set takes NAME=VALUE" in capsys.readouterr().err
