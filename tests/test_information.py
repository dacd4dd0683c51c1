"""The information study (Fig. 5d): exact bounds, the encoder's sigma, the quick study, resume."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, kl_divergence

from spikebridge.errors import InputError
from spikebridge.report.information import paper_claims
from spikebridge.studies.information import (
    ENCODERS,
    InformationNet,
    best_epoch,
    evaluate,
    izy_bounds,
    kl_bits,
    run_information_study,
    sigma_from_raw,
)

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_data = pytest.mark.skipif(
    not FASHION.is_dir(),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)


# -- the bounds ---------------------------------------------------------------------------------
def test_kl_bound_is_exact_on_a_hand_made_gaussian() -> None:
    mu = torch.tensor([[0.0, 0.0], [1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    sigma = torch.tensor([[1.0, 1.0], [0.5, 2.0], [math.exp(-1), 1.0]], dtype=torch.float64)
    # closed form per dimension: (mu^2 + sigma^2 - 1 - 2 ln sigma) / 2, in nats
    expected_nats = [
        0.0,
        (1 + 0.25 - 1 - 2 * math.log(0.5)) / 2 + (4 + 4 - 1 - 2 * math.log(2.0)) / 2,
        (0.25 + math.exp(-2) - 1 + 2) / 2 + (9 + 1 - 1 - 0) / 2,
    ]
    got = kl_bits(mu, sigma)
    assert got.shape == (3,)
    for value, nats in zip(got.tolist(), expected_nats, strict=True):
        assert value == pytest.approx(nats / math.log(2), rel=1e-12, abs=1e-12)
    reference = kl_divergence(Normal(mu, sigma), Normal(0.0, 1.0)).sum(-1) / math.log(2)
    torch.testing.assert_close(got, reference, rtol=1e-12, atol=1e-12)


def test_izy_bounds_from_known_cross_entropies() -> None:
    chance = izy_bounds([math.log(10), math.log(10)])
    assert chance["task1"] == pytest.approx(0.0, abs=1e-12)
    assert chance["task2"] == pytest.approx(0.0, abs=1e-12)
    assert chance["combined"] == pytest.approx(-math.log2(10), abs=1e-12)  # one log2 10 only
    perfect = izy_bounds([0.0, 0.0])
    assert perfect == {"combined": math.log2(10), "task1": math.log2(10), "task2": math.log2(10)}
    mixed = izy_bounds([0.5, 1.5])
    assert mixed["task1"] == pytest.approx(math.log2(10) - 0.5 / math.log(2))
    assert mixed["task2"] == pytest.approx(math.log2(10) - 1.5 / math.log(2))
    assert mixed["combined"] == pytest.approx(mixed["task1"] + mixed["task2"] - math.log2(10))
    with pytest.raises(InputError, match="non-negative"):
        izy_bounds([-0.1, 1.0])


def test_sigma_is_softplus_of_raw_minus_five() -> None:
    raw = torch.tensor([-10.0, 0.0, 5.0, 20.0], dtype=torch.float64)
    expected = torch.log1p(torch.exp(raw - 5.0))
    torch.testing.assert_close(sigma_from_raw(raw), expected)
    assert float(sigma_from_raw(torch.tensor(5.0))) == pytest.approx(math.log(2))
    torch.manual_seed(0)
    net = InformationNet("lif", k=8, width=16)
    images = 255 * torch.rand(4, 1, 36, 36)
    mu, sigma = net.encode(images)
    stats = net.statistics(net.spikes(images)).mean(0)  # the per-step Linear, averaged over T
    torch.testing.assert_close(mu, stats[:, :8])
    torch.testing.assert_close(sigma, F.softplus(stats[:, 8:] - 5))


def test_encoders_expose_their_spike_features_and_the_paper_settings() -> None:
    torch.manual_seed(0)
    sizes = {}
    for name in ENCODERS:
        net = InformationNet(name, k=4, width=8, seed=1)
        sizes[name] = (net.features, net.spikes(torch.ones(2, 1, 36, 36)).shape)
        params = net.neurons.parameter_dict()
        if name == "lif":
            assert float(params["theta"]) == pytest.approx(0.2)
            assert float(params["decay"]) == pytest.approx(0.2)
        elif name == "hh":
            assert float(params["theta"]) == pytest.approx(2.3)
            assert net.neurons.dt == pytest.approx(1e-5)  # 0.01 ms
            rates = params["alpha_m"]
            assert rates.shape == (8,) and float(rates.min()) >= 0 and float(rates.max()) < 0.01
            projection = net.projections[0]
            assert isinstance(projection, nn.Linear)
            assert float(projection.bias.detach().abs().max()) == 0.0  # Xavier, zero bias
        else:
            assert float(params["theta"]) == pytest.approx(0.8)
            assert float(params["decay"]) == pytest.approx(0.2)
            assert all(params[p].requires_grad for p in ("a_1", "a_2", "a_3", "b_4"))
    assert sizes["lif"] == (8, (15, 2, 8))
    assert sizes["hh"] == (8, (15, 2, 8))
    assert sizes["s-lif2hh"] == (32, (15, 2, 32))  # 4 sub-neurons x width


def test_evaluate_gives_chance_bounds_for_a_blind_decoder() -> None:
    from spikebridge.learning.data import TaskData

    torch.manual_seed(0)
    net = InformationNet("lif", k=4, width=8)
    with torch.no_grad():
        for head in net.heads:
            assert isinstance(head, nn.Linear)
            head.weight.zero_()
            head.bias.zero_()  # uniform logits: CE = ln 10 for every image
    data = TaskData(255 * torch.rand(10, 1, 36, 36), torch.randint(0, 10, (10, 2)))
    result = evaluate(net, data, samples=3, batch_size=4)
    assert result["I_ZY_task1_bits"] == pytest.approx(0.0, abs=1e-6)
    assert result["I_ZY_task2_bits"] == pytest.approx(0.0, abs=1e-6)
    assert result["I_ZY_bits"] == pytest.approx(-math.log2(10), abs=1e-6)
    assert result["I_XZ_bits"] > 0


def test_best_epoch_is_the_best_twelve_sample_accuracy() -> None:
    history = [{"epoch": e, "test": {"accuracy_12": a}} for e, a in ((1, 0.2), (2, 0.5), (3, 0.5))]
    assert best_epoch(history)["epoch"] == 2


def test_claims_are_evaluated_on_the_numbers() -> None:
    def results(xz: tuple[float, ...], zy: tuple[float, ...]) -> dict[str, Any]:
        return {
            "encoders": {
                n: {"I_XZ_bits": x, "I_ZY_bits": y}
                for n, x, y in zip(ENCODERS, xz, zy, strict=True)
            }
        }

    paper_like = paper_claims(results((100.0, 101.0, 140.0), (0.5, 0.9, 0.95)))
    assert [c["holds"] for c in paper_like] == [True, True]
    reversed_ = paper_claims(results((100.0, 130.0, 120.0), (0.9, 0.5, 0.95)))
    assert [c["holds"] for c in reversed_] == [False, False]


def test_bad_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Unknown encoder 'izh'"):
        run_information_study(tmp_path, encoders=("lif", "izh"), quick=True, progress=False)
    with pytest.raises(InputError, match="Unknown dataset"):
        run_information_study(tmp_path, dataset="cifar", quick=True, progress=False)
    with pytest.raises(InputError, match="epochs must be an integer >= 1"):
        run_information_study(tmp_path, epochs=0, quick=True, progress=False)
    assert not any(tmp_path.iterdir())  # nothing written


# -- the study ----------------------------------------------------------------------------------
@needs_data
def test_quick_study_writes_results_report_and_figures(tmp_path: Path) -> None:
    results = run_information_study(tmp_path, quick=True, progress=False)
    written = json.loads((tmp_path / "results.json").read_text())
    assert set(written["encoders"]) == set(ENCODERS)
    for name, entry in written["encoders"].items():
        for key in ("I_XZ_bits", "I_ZY_bits", "I_ZY_task1_bits", "I_ZY_task2_bits"):
            assert math.isfinite(entry[key]), (name, key)
        assert entry["I_XZ_bits"] >= 0
        assert entry["I_ZY_bits"] == pytest.approx(
            entry["I_ZY_task1_bits"] + entry["I_ZY_task2_bits"] - math.log2(10)
        )
        assert 0 <= entry["accuracy_12"] <= 1
        assert entry["epochs"] == 2 and len(entry["history"]) == 2
        assert 1 <= entry["best_epoch"] <= 2
        assert entry["train_samples"] == 256 and entry["test_samples"] == 128
        assert entry["seconds"] > 0
        trained = entry["last_epoch_trained_weights"]
        assert math.isfinite(trained["I_ZY_bits"]) and trained["I_XZ_bits"] >= 0
        assert 0 < trained["spike_rate"] < 1
    assert written["encoders"]["s-lif2hh"]["features"] == 2048
    assert written["encoders"]["lif"]["features"] == 512
    assert results["encoders"]["hh"]["I_XZ_bits"] == written["encoders"]["hh"]["I_XZ_bits"]
    report = (tmp_path / "report.md").read_text()
    assert "I(Z;Y)" in report and "multi-fashion" in report and "HH" in report
    for figure in ("information_plane.png", "curves.png"):
        assert (tmp_path / "figures" / figure).stat().st_size > 1000
    for name in ENCODERS:
        assert (tmp_path / "checkpoints" / f"{name}.pt").is_file()
    with pytest.raises(InputError, match="--resume"):  # a finished run is not overwritten
        run_information_study(tmp_path, quick=True, progress=False)


def _strip_seconds(entry: dict[str, Any]) -> dict[str, Any]:
    entry = {k: v for k, v in entry.items() if k != "seconds"}
    entry["history"] = [
        {k: v for k, v in record.items() if k not in ("seconds", "train_seconds")}
        for record in entry["history"]
    ]
    return entry


@needs_data
def test_resumed_study_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    common: dict[str, Any] = {
        "encoders": ("hh",),
        "subset": 256,
        "test_subset": 64,
        "progress": False,
    }
    straight = run_information_study(tmp_path / "straight", epochs=2, **common)
    run_information_study(tmp_path / "resumed", epochs=1, **common)
    with pytest.raises(InputError, match="--resume"):
        run_information_study(tmp_path / "resumed", epochs=2, **common)
    with pytest.raises(InputError, match="settings differ"):
        run_information_study(tmp_path / "resumed", epochs=2, resume=True, seed=2, **common)
    resumed = run_information_study(tmp_path / "resumed", epochs=2, resume=True, **common)
    assert _strip_seconds(resumed["encoders"]["hh"]) == _strip_seconds(straight["encoders"]["hh"])
    assert len(resumed["encoders"]["hh"]["history"]) == 2
    with pytest.raises(InputError, match="more than"):
        run_information_study(tmp_path / "resumed", epochs=1, resume=True, **common)
