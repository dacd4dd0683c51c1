"""Forward-Forward: the label embedding, the negatives, the layer-local losses against a
hand computation, no gradient across layers, learning on Fashion-MNIST, and resuming."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikebridge.errors import InputError
from spikebridge.learning.forward_forward import (
    FFConfig,
    FFNet,
    Split,
    embed_labels,
    load_images,
    train_forward_forward,
    wrong_labels,
)


def test_labels_replace_the_first_ten_pixels() -> None:
    images = torch.rand(3, 28, 28)
    out = embed_labels(images, torch.tensor([0, 4, 9]))
    assert out.shape == (3, 784)
    np.testing.assert_array_equal(out[:, :10].argmax(-1), [0, 4, 9])
    assert torch.equal(out[:, :10].sum(-1), torch.ones(3))
    assert torch.equal(out[:, 10:], images.flatten(1)[:, 10:])
    assert torch.allclose(embed_labels(images, None)[:, :10], torch.full((3, 10), 0.1))


def test_negative_labels_are_never_the_true_one_and_uniform_over_the_others() -> None:
    labels = torch.full((90_000,), 3)
    wrong = wrong_labels(labels, torch.Generator().manual_seed(0))
    assert not torch.any(wrong == 3)
    counts = torch.bincount(wrong, minlength=10).float()
    others = counts[[k for k in range(10) if k != 3]]
    assert torch.all((others - 10_000).abs() < 400)  # 4 standard deviations


def test_layer_losses_match_a_hand_computation_and_stay_local() -> None:
    torch.manual_seed(0)
    net = FFNet((6, 5), inputs=8)
    pos, neg = torch.rand(4, 8), torch.rand(4, 8)
    losses, _ = net.losses(pos, neg, peer_weight=0.0, peer_momentum=0.9)
    # by hand, in numpy: normalise, layer, relu, goodness - width, cross-entropy
    w = [layer.weight.detach().double().numpy() for layer in net.layers]
    b = [layer.bias.detach().double().numpy() for layer in net.layers]
    z = np.concatenate([pos.double().numpy(), neg.double().numpy()])
    target = np.r_[np.ones(4), np.zeros(4)]
    for k in range(2):
        z = z / (np.sqrt((z**2).mean(-1, keepdims=True)) + 1e-8)
        a = np.maximum(z @ w[k].T + b[k], 0)
        logit = (a**2).sum(-1) - a.shape[1]
        expected = np.mean(np.logaddexp(0, logit) - target * logit)
        assert float(losses[k].detach()) == pytest.approx(expected, rel=1e-5)
        z = a
    losses[1].backward()  # the second layer's loss reaches no weight of the first
    first = net.layers[0]
    assert first.weight.grad is None or torch.all(first.weight.grad == 0)
    assert net.layers[1].weight.grad is not None and torch.any(net.layers[1].weight.grad != 0)


def test_peer_normalisation_follows_the_running_mean_of_positive_activities() -> None:
    torch.manual_seed(0)
    net = FFNet((6, 5), inputs=8)
    pos, neg = torch.rand(4, 8), torch.rand(4, 8)
    plain, _ = net.losses(pos, neg, peer_weight=0.0, peer_momentum=0.9)
    acts = net.activities(torch.cat([pos, neg]))
    mean = 0.5 * 0.9 + acts[0][:4].mean(0) * 0.1
    with_peer, _ = net.losses(pos, neg, peer_weight=0.03, peer_momentum=0.9)
    expected = plain[0] + 0.03 * ((mean.mean() - mean) ** 2).mean()
    assert float(with_peer[0]) == pytest.approx(float(expected), rel=1e-6)
    assert torch.allclose(net.running_mean_0, mean.detach())  # type: ignore[attr-defined]


def test_the_relu_passes_its_gradient_everywhere_and_rates_cool_down_linearly() -> None:
    from spikebridge.learning.forward_forward import _rates, _ReLUFullGrad

    x = torch.tensor([-2.0, -0.1, 0.5, 3.0], requires_grad=True)
    y = _ReLUFullGrad.apply(x)
    assert isinstance(y, torch.Tensor)
    assert torch.equal(y.detach(), torch.tensor([0.0, 0.0, 0.5, 3.0]))
    y.sum().backward()
    assert x.grad is not None and torch.equal(x.grad, torch.ones(4))  # F.relu: 0, 0, 1, 1
    config = FFConfig(epochs=60)
    assert _rates(config, 0) == _rates(config, 30) == (1e-3, 1e-2)
    assert _rates(config, 31) == pytest.approx((1e-3 * 60 / 60, 1e-2 * 60 / 60))
    assert _rates(config, 59) == pytest.approx((1e-3 * 2 * 2 / 60, 1e-2 * 2 * 2 / 60))


def test_the_readout_reads_normalised_layers_two_on_of_the_neutral_label() -> None:
    torch.manual_seed(0)
    net = FFNet((6, 5, 4), inputs=20)
    images = torch.rand(3, 20)
    acts = net.activities(embed_labels(images, None))
    features = net.features(images)
    assert features.shape == (3, 5 + 4)
    expected = torch.cat(
        [a / (torch.sqrt((a**2).mean(-1, keepdim=True)) + 1e-8) for a in acts[1:]], -1
    )
    assert torch.allclose(features, expected)


def _synthetic(n: int, seed: int) -> Split:
    """Ten classes of noisy prototypes: images for the mechanics of a run."""
    g = torch.Generator().manual_seed(seed)
    prototypes = torch.rand(10, 784, generator=torch.Generator().manual_seed(99))
    labels = torch.randint(0, 10, (n,), generator=g)
    images = (prototypes[labels] + 0.3 * torch.rand(n, 784, generator=g)).clamp(0, 1)
    return Split(images, labels)


def test_a_stopped_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    config = FFConfig(widths=(40, 30), epochs=3, batch_size=50)
    train, test = _synthetic(500, 1), _synthetic(200, 2)
    whole = train_forward_forward(config, tmp_path / "whole", train=train, test=test)
    stopped = tmp_path / "stopped"

    def stop(row: dict[str, float]) -> None:  # after the first epoch's checkpoint
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_forward_forward(config, stopped, train=train, test=test, progress=stop)
    with pytest.raises(InputError, match="other settings"):
        train_forward_forward(
            replace(config, lr=0.01), stopped, resume=True, train=train, test=test
        )
    resumed = train_forward_forward(config, stopped, resume=True, train=train, test=test)
    for key, value in whole.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    timed = {"seconds", "train_seconds"}
    strip = [{k: v for k, v in r.items() if k not in timed} for r in whole.metrics]
    assert strip == [{k: v for k, v in r.items() if k not in timed} for r in resumed.metrics]


def test_it_learns_fashion_mnist(tmp_path: Path) -> None:
    """The recipe's rates on 2,000 images: measured goodness error 0.76 after the first
    epoch, 0.33 after the tenth; read-out 0.36 -> 0.23 (chance: 0.9)."""
    config = FFConfig(widths=(200, 200), epochs=10, batch_size=50, subset=2000, test_subset=1000)
    run = train_forward_forward(config, tmp_path)
    errors = [r["goodness_error"] for r in run.metrics]
    assert errors[-1] < 0.45 and errors[-1] < errors[0] - 0.2
    assert run.metrics[-1]["readout_error"] < 0.35
    assert (tmp_path / "metrics.json").exists() and (tmp_path / "checkpoint.pt").exists()


def test_bad_settings_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least two layers"):
        FFConfig(widths=(100,))
    with pytest.raises(InputError, match="momentum"):
        FFConfig(momentum=1.0)
    with pytest.raises(InputError, match="fewer than one batch"):
        train_forward_forward(
            FFConfig(widths=(4, 4), epochs=1),
            tmp_path,
            train=_synthetic(10, 0),
            test=_synthetic(10, 1),
        )


def test_load_images_scales_to_the_unit_interval() -> None:
    split = load_images(FFConfig(subset=50), "train")
    assert split.images.shape == (50, 784) and split.labels.shape == (50,)
    assert float(split.images.min()) >= 0 and float(split.images.max()) <= 1
    assert F.one_hot(split.labels, 10).shape == (50, 10)
