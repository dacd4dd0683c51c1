"""Robustness: perturbations of bridged networks in Brian2, and the study command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from brian2 import Equations

from spikebridge.brian.perturbations import membrane_noise_equations
from spikebridge.bridge.perturb import (
    NoiseSchedule,
    Perturbation,
    delete_spikes,
    network_perturbations,
)
from spikebridge.bridge.validate import brian2_rasters, torch_rasters
from spikebridge.cli import main
from spikebridge.errors import InputError
from spikebridge.model import load_model
from spikebridge.nets import SpikingFC, build_net
from spikebridge.studies.robustness import (
    RobustnessSettings,
    membrane_scales,
    run_robustness_study,
)

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not FASHION.is_dir(), reason="Fashion-MNIST not installed")


@pytest.mark.parametrize(
    ("kind", "strength", "message"),
    [("heat", 1.0, "Unknown perturbation"), ("input", -1.0, ">= 0"), ("deletion", 1.5, "<= 1")],
)
def test_bad_perturbations_are_refused(kind: str, strength: float, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Perturbation(kind, strength)


def test_schedule_lays_levels_out_window_by_window() -> None:
    schedule = NoiseSchedule.from_strengths({"input": [10.0, 20.0], "deletion": [0.5]}, samples=3)
    assert [level.kind for level in schedule.levels] == ["none", "input", "input", "deletion"]
    assert schedule.windows == 12
    np.testing.assert_array_equal(
        schedule.per_window("input"), [0] * 3 + [10] * 3 + [20] * 3 + [0] * 3
    )
    np.testing.assert_array_equal(schedule.per_window("deletion")[-3:], [0.5] * 3)
    assert not schedule.uses("membrane")
    with pytest.raises(InputError, match="membrane_scale"):
        NoiseSchedule.from_strengths({"membrane": [0.5]}, samples=3)


@pytest.mark.parametrize("name", ["lif_dl", "hh_dl", "s_lif2hh_dl"])
def test_membrane_noise_is_an_additive_term_on_every_membrane(name: str) -> None:
    model = load_model(name)
    noisy = Equations(membrane_noise_equations(model))
    for _, expression in noisy.get_substituted_expressions():
        _, stochastic = expression.split_stochastic()
        for factor in (stochastic or {}).values():  # no state variable in a noise factor
            assert not factor.identifiers & set(noisy.diff_eq_names)
    assert set(noisy.stochastic_variables) == {f"xi_{var}" for var in model.membrane}
    assert set(noisy.diff_eq_names) == set(Equations(model.equations).diff_eq_names)


def test_spike_deletion_keeps_or_drops_with_its_probability() -> None:
    raster = np.ones((3, 50, 40), dtype=bool)
    kept = delete_spikes(raster, np.array([0.0, 1.0, 0.5]), seed=1)
    assert kept[0].all() and not kept[1].any()
    assert abs(kept[2].mean() - 0.5) < 0.03
    np.testing.assert_array_equal(kept, delete_spikes(raster, np.array([0.0, 1.0, 0.5]), seed=1))


@pytest.mark.slow
@pytest.mark.standalone
@pytest.mark.parametrize("name", ["lif-fc", "hh-fc"])
def test_perturbed_build_keeps_the_clean_level_exact(name: str) -> None:
    """Level 0 is the bridged network spike for spike; noise changes spikes; a seed repeats."""
    torch.manual_seed(2)
    steps = 15 if name == "hh-fc" else 6
    net = build_net(name, steps=steps, seed=2, dtype=torch.float64)
    assert isinstance(net, SpikingFC)
    generator = torch.Generator().manual_seed(5)
    images = 255 * torch.rand(3, 1, 36, 36, dtype=torch.float64, generator=generator)
    clean = torch_rasters(net, images)[0]
    schedule = NoiseSchedule.from_strengths(
        {"membrane": [1.0], "input": [100.0], "weight": [0.5]},
        samples=3,
        membrane_scale=membrane_scales(net, images),
    )
    tiled = np.tile(images.numpy(), (len(schedule.levels), 1, 1, 1))

    def perturbed(seed: int) -> np.ndarray:
        return brian2_rasters(
            net, tiled, "cpp_standalone",
            perturbations=network_perturbations(schedule, net, seed),
        )[-1]  # fmt: skip

    first = perturbed(7)
    assert first.shape == (12, *clean.shape[1:])
    np.testing.assert_array_equal(first[:3], clean)
    for level in range(1, 4):
        assert not np.array_equal(first[3 * level : 3 * level + 3], clean), schedule.levels[level]
    np.testing.assert_array_equal(first, perturbed(7))
    assert not np.array_equal(first[3:], perturbed(8)[3:])


@needs_fashion
@pytest.mark.slow
@pytest.mark.standalone
def test_robustness_study_writes_results_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "robustness"
    args = [
        "study", "robustness", "--out", str(out), "--nets", "lif-fc", "--amplitudes", "0,50",
        "--seeds", "1", "--epochs", "1", "--subset", "256", "--test-subset", "128",
        "--samples", "8", "--membrane", "1", "--input", "100", "--weight", "0.5",
        "--deletion", "0.5", "--no-progress", "--workers", "1",
    ]  # fmt: skip
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["clean_spike_train_agreement"] == {"lif-fc": 1.0}
    assert set(results["training_noise"]["lif-fc"]) == {"0", "50"}
    curves = results["simulation"]["lif-fc"]
    assert set(curves) == {"membrane", "input", "weight", "deletion"}
    assert [e["strength"] for e in curves["deletion"]] == [0.0, 0.5]
    for name in ("report.md", "figures/training_noise.png", "figures/simulation.png"):
        assert (out / name).stat().st_size > 0
    with pytest.raises(InputError, match="--resume"):
        run_robustness_study(out, RobustnessSettings(nets=("lif-fc",)), progress=False)
    before = {p: p.read_bytes() for p in (out / "sweeps").rglob("points/*.json")}
    assert main([*args, "--resume"]) == 0
    after = {p: p.read_bytes() for p in (out / "sweeps").rglob("points/*.json")}
    assert before == after
