"""Spiking Forward-Forward: the layer chain equals the whole network, no gradient crosses a
layer, the loss against a hand computation, learning (both goodness kinds), resuming,
the networks it refuses, and the trained network's goodness prediction in Brian2."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikebridge.errors import InputError
from spikebridge.learning.ff_layers import LayerwiseNetwork, check_feed_forward, goodness
from spikebridge.learning.ff_networks import ff_network, preset_network
from spikebridge.learning.forward_forward import FFConfig, Split, load_images
from spikebridge.learning.forward_forward_spiking import (
    SpikingFFConfig,
    SpikingFFNet,
    train_spiking_forward_forward,
)
from spikebridge.learning.label_embedding import NEUTRAL, embed_labels, training_pair
from spikebridge.network import Dense, Network, Projection, Synapse, ValueSource
from spikebridge.torch.network import SpikingNetwork


def _small(model: str = "lif_dl", widths: tuple[int, ...] = (12, 9), seed: int = 0) -> Network:
    torch.manual_seed(seed)
    return preset_network(model, widths, steps=6)


@pytest.mark.parametrize("model", ["lif_dl", "hh_dl"])
def test_the_layer_chain_computes_what_the_whole_network_computes(model: str) -> None:
    network = _small(model, (30, 20, 10))
    images = torch.rand(5, 784, dtype=torch.float64) * 3
    whole = SpikingNetwork(network, dtype=torch.float64)
    expected = whole({"image": images}, n_steps=6).spikes
    runs = LayerwiseNetwork(network, dtype=torch.float64)(images, 6)
    assert sum(float(r.spikes.detach().sum()) for r in runs) > 20  # the layers fire
    for run, name in zip(runs, ("layer1", "layer2", "layer3"), strict=True):
        assert torch.equal(run.spikes, expected[name]), name


@pytest.mark.parametrize(
    ("threshold", "temperature", "theta", "tau"), [(None, None, None, 36.0), (7.5, 2.0, 7.5, 2.0)]
)
def test_no_gradient_crosses_a_layer_and_the_loss_is_the_hand_computed_one(
    threshold: float | None, temperature: float | None, theta: float | None, tau: float
) -> None:
    network = _small()
    config = SpikingFFConfig(steps=6, threshold=threshold, temperature=temperature)
    net = SpikingFFNet(network, config)
    pos, neg = torch.rand(4, 784) * 2, torch.rand(4, 784) * 2
    losses, _ = net.losses(pos, neg)
    first = list(net.layers.layers[0].parameters())
    grads = torch.autograd.grad(losses[1], first, allow_unused=True)
    assert all(g is None or float(g.abs().max()) == 0.0 for g in grads)
    second = list(net.layers.layers[1].parameters())
    assert any(float(g.abs().max()) > 0 for g in torch.autograd.grad(losses[1], second))
    # by hand: goodness of counts, (G - threshold (default H)) / tau (default steps^2), BCE
    runs = net.runs(torch.cat([pos, neg]))
    target = torch.cat([torch.ones(4), torch.zeros(4)])
    for k, size in enumerate((12, 9)):
        counts = runs[k].spikes.sum(0).detach()
        logits = ((counts**2).sum(-1) - (size if theta is None else theta)) / tau
        expected = F.binary_cross_entropy_with_logits(logits, target)
        assert float(losses[k]) == pytest.approx(float(expected), rel=1e-6)


def test_membrane_goodness_is_the_squared_mean_membrane() -> None:
    network = _small()
    net = SpikingFFNet(network, SpikingFFConfig(steps=6, goodness="membrane"))
    x = torch.rand(3, 784)
    run = net.runs(x)[0]
    assert run.membrane is not None and run.membrane.shape == (6, 3, 12)
    whole = SpikingNetwork(network, dtype=torch.float32)
    u = whole({"image": x}, n_steps=6, record=("layer1.u",)).traces["layer1.u"]
    assert torch.allclose(goodness(run, "membrane"), u.mean(0).pow(2).sum(-1))


def test_multi_task_samples_show_one_task_the_others_neutral() -> None:
    labels = torch.tensor([[3, 7]] * 2000)
    positive, negative = training_pair(labels, torch.Generator().manual_seed(0))
    shown = positive != NEUTRAL
    assert torch.equal(shown.sum(1), torch.ones(2000, dtype=torch.long))
    assert torch.equal(shown, negative != NEUTRAL)  # the same task, the other neutral
    assert torch.equal(positive[shown], labels[shown])
    assert not torch.any(negative[shown] == labels[shown])
    assert 850 < int(shown[:, 0].sum()) < 1150  # either task, uniformly
    images = embed_labels(torch.zeros(2000, 36 * 36), positive)
    blocks = images[:, :20].reshape(2000, 2, 10)
    neutral = blocks[~shown]
    assert torch.allclose(neutral, torch.full_like(neutral, 0.1))


@pytest.fixture(scope="module")
def fashion() -> tuple[Split, Split]:
    config = FFConfig(subset=1000, test_subset=300)
    return load_images(config, "train"), load_images(config, "test")


@pytest.mark.parametrize("kind", ["spike_count", "membrane"])
def test_spiking_forward_forward_learns_fashion_mnist(
    fashion: tuple[Split, Split], tmp_path: Path, kind: str
) -> None:
    """LIF 100 x 100 on 1,000 images, 4 epochs of batch 20 (chance: 0.9). Measured: goodness
    0.71 / 0.64, read-out 0.40 / 0.34 for spike counts / membranes; the layer's positive /
    negative separation rises from 0.50 to 0.60 / 0.57."""
    train, test = fashion
    config = SpikingFFConfig(epochs=4, goodness=kind, batch_size=20, readout_lr=1e-2)
    torch.manual_seed(config.seed)
    network = preset_network("lif_dl", (100, 100), config.steps)
    run = train_spiking_forward_forward(network, config, tmp_path, train=train, test=test)
    first, last = run.metrics[0], run.metrics[-1]
    assert last["goodness_error"] < 0.8, run.metrics
    assert last["readout_error"] < 0.5, run.metrics
    assert last["layer1_separation"] > first["layer1_separation"] + 0.04, run.metrics
    assert (tmp_path / "network.npz").is_file() and (tmp_path / "metrics.json").is_file()


def test_a_resumed_run_equals_the_uninterrupted_one(
    fashion: tuple[Split, Split], tmp_path: Path
) -> None:
    train, test = Split(fashion[0].images[:400], fashion[0].labels[:400]), fashion[1]
    test = Split(test.images[:100], test.labels[:100])
    config = SpikingFFConfig(epochs=2, batch_size=50)
    torch.manual_seed(0)
    network = preset_network("lif_dl", (20, 20), config.steps)
    whole = train_spiking_forward_forward(network, config, tmp_path / "a", train=train, test=test)
    half = replace(config, epochs=1)
    train_spiking_forward_forward(network, half, tmp_path / "b", train=train, test=test)
    with pytest.raises(InputError, match=r"other settings \(lr\)"):
        train_spiking_forward_forward(
            network, replace(config, lr=0.01), tmp_path / "b", resume=True, train=train, test=test
        )
    resumed = train_spiking_forward_forward(
        network, config, tmp_path / "b", resume=True, train=train, test=test
    )
    for key, value in whole.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    with pytest.raises(InputError, match="already holds a checkpoint"):
        train_spiking_forward_forward(network, config, tmp_path / "a", train=train, test=test)


def test_networks_that_cannot_be_trained_layer_by_layer_are_refused() -> None:
    network = _small()
    with pytest.raises(InputError, match="schedule='layered'"):
        check_feed_forward(replace(network, schedule="brian2"))
    back = Projection(
        "back", "layer2", "layer1", Synapse("w : 1", on_pre="I_post += w"), Dense(), weights=0.1
    )
    with pytest.raises(InputError, match="not forward"):
        check_feed_forward(replace(network, projections=(*network.projections, back)))
    extra = ValueSource("other", 3)
    with pytest.raises(InputError, match="exactly one"):
        check_feed_forward(replace(network, sources=(*network.sources, extra)))
    for synapse, what in (
        (Synapse("w : 1\nI_post = w : 1 (summed)"), "has no on_pre pathway"),
        (Synapse("w : 1", on_pre="I_post += w * u_pre"), "reads \\['u_pre'\\]"),
    ):
        reader = Projection("reader", "layer1", "layer2", synapse, Dense(), weights=0.1)
        with pytest.raises(InputError, match=what):
            check_feed_forward(replace(network, projections=(*network.projections, reader)))
    torch.manual_seed(0)
    multi = ff_network("s_lif2hh_dl", (6, 5), steps=4)
    with pytest.raises(InputError, match="single-event model"):
        check_feed_forward(multi)
    with pytest.raises(InputError, match="goodness must be one of"):
        SpikingFFConfig(goodness="rate")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            SpikingFFConfig(device="cuda")
    with pytest.raises(InputError, match="at least one layer"):
        SpikingFFConfig(prediction_layers=())
    with pytest.raises(InputError, match="labels give 1 tasks; tasks is 2"):
        embed_labels(torch.rand(2, 40), torch.tensor([1, 2]), tasks=2)
    with pytest.raises(InputError, match="prediction_layers names layer 3"):
        SpikingFFNet(network, SpikingFFConfig(prediction_layers=(3,)))


@pytest.mark.standalone
def test_train_and_validate_a_paper_net_by_forward_forward_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """lif-fc on 256 Multi-Fashion composites, one epoch; its goodness prediction (two tasks,
    ten labels each: 20 trials per image) on both engines, and its exported description."""
    import json

    from spikebridge.cli import main
    from spikebridge.network import load_network

    out = tmp_path / "ff"
    assert main(["train", "lif-fc", "--rule", "forward-forward", "--subset", "256",
                 "--test-subset", "32", "--epochs", "1", "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "task 1: goodness" in printed and "network.npz" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["about"]["net"] == "lif-fc" and metrics["config"]["steps"] == 15
    assert metrics["config"]["goodness"] == "membrane"  # the paper nets' default
    assert {"goodness_error_task1", "readout_error_task2"} <= set(metrics["epochs"][0])
    exported = tmp_path / "trained.npz"
    assert main(["validate", str(out), "--samples", "6", "--export", str(exported),
                 "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["rule"] == "forward-forward" and report["tasks"] == 2
    assert report["samples"] == 6 and report["trials"] == 120
    assert report["spikes_brian2"] > 100
    assert report["spike_train_agreement"] == 1.0, report
    assert report["goodness_agreement"] == 1.0
    assert report["prediction_agreement"] == 1.0
    trained = load_network(exported)
    saved = load_network(out / "network.npz")
    assert np.array_equal(
        np.asarray(trained.projection("input_0").weights),
        np.asarray(saved.projection("input_0").weights),
    )
    with pytest.raises(SystemExit):
        main(["train", "lif-fc", "--rule", "hebbian", "--out", str(tmp_path / "x")])
    assert main(["train", "cnn", "--rule", "forward-forward", "--out", str(tmp_path / "y")]) == 2
    assert "no spiking layer" in capsys.readouterr().err
    assert main(["train", "lif-fc", "--goodness", "membrane", "--out", str(tmp_path / "z")]) == 2
    assert "--goodness applies to --rule forward-forward" in capsys.readouterr().err


def test_weight_decay_shrinks_the_trained_layers(
    fashion: tuple[Split, Split], tmp_path: Path
) -> None:
    train, test = Split(fashion[0].images[:200], fashion[0].labels[:200]), fashion[1]
    test = Split(test.images[:50], test.labels[:50])
    norms = {}
    for decay in (0.0, 10.0):
        config = SpikingFFConfig(epochs=1, batch_size=50, lr=0.01, weight_decay=decay)
        torch.manual_seed(0)
        network = preset_network("lif_dl", (20, 20), config.steps)
        run = train_spiking_forward_forward(
            network, config, tmp_path / f"wd{decay}", train=train, test=test
        )
        readout = {id(p) for p in run.net.readout.parameters()}
        layers = [p for p in run.net.parameters() if id(p) not in readout]
        norms[decay] = float(torch.cat([p.detach().flatten() for p in layers]).norm())
    assert norms[10.0] < 0.8 * norms[0.0], norms  # measured: 2.17 against 4.64
    with pytest.raises(InputError, match="weight_decay"):
        SpikingFFConfig(weight_decay=-1.0)
