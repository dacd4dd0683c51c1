r"""Forward-Forward training (Hinton, arXiv 2212.13345) of a fully connected ReLU network.

The supervised variant as the reference implementation loeweX/Forward-Forward trains it
(its ``ff_model.py``, ``ff_mnist.py`` and ``config.yaml``), with its hyper-parameters; it
differs in three settings: 60 epochs by default (loeweX: 100; the issue's calibration), seed
1 (loeweX: 42) and all training images (loeweX holds out 10,000 of MNIST's for validation):

* **Label embedding.** An image x in [0, 1]^784 with its first 10 pixels replaced by a
  label: one-hot of the true label (positive), of a label drawn uniformly from the nine
  others (negative: never the true one), or 0.1 each (neutral).
* **Layers.** z_0 = x / rms(x); a_l = relu(W_l z_(l-1) + b_l), the ReLU passing its
  gradient everywhere; z_l = a_l / rms(a_l), detached: no gradient crosses a layer.
  rms(v) = sqrt(mean_j v_j^2) + 1e-8. Weights ~ N(0, 1 / out_features), biases 0.
* **Layer loss.** Goodness G_l = sum_j a_lj^2 and p(positive) = sigmoid(G_l - H_l), H_l the
  layer's width: binary cross-entropy over the positive and negative halves of the batch;
  plus ``peer_normalisation`` x mean_j (mean(m_l) - m_lj)^2, m_l the running mean (momentum
  0.9, from 0.5) of the layer's activities on positive samples.
* **Read-out.** A linear classifier (no bias, zero initial weights) on the neutral sample's
  z_l of layers 2..L, trained at the same time on detached features (cross-entropy), with
  its own learning rate and weight decay.
* **Prediction.** ``goodness``: the label whose embedding gives the largest sum of G_l over
  layers 2..L (one pass per label); ``readout``: the read-out's argmax on the neutral sample.
* **Optimiser.** SGD with momentum 0.9: lr 1e-3 and weight decay 3e-4 for the layers,
  1e-2 and 3e-3 for the read-out; batch 100; over the second half of the epochs both rates
  fall linearly (epoch e of E, from 0: rate x 2 (1 + E - e) / E once e > E // 2).

Training is deterministic given the seed (the shuffling and the negative labels of epoch
``e`` depend only on ``(seed, e)``), writes ``checkpoint.pt`` and ``metrics.json``
atomically after every epoch and resumes from them to the uninterrupted run's result.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import count, index, non_negative, optional_count, positive
from ..errors import InputError
from ..io import write_json
from .checkpoint import read_checkpoint, save_checkpoint
from .epoch_order import epoch_generator
from .label_embedding import CLASSES, embed_labels, wrong_labels

KIND = "spikebridge-forward-forward-checkpoint"


@dataclass(frozen=True)
class FFConfig:
    """Everything that determines a Forward-Forward run (saved in its checkpoint)."""

    widths: tuple[int, ...] = (1000, 1000, 1000)
    epochs: int = 60
    batch_size: int = 100
    lr: float = 1e-3
    weight_decay: float = 3e-4
    momentum: float = 0.9
    readout_lr: float = 1e-2
    readout_weight_decay: float = 3e-3
    peer_normalisation: float = 0.03
    peer_momentum: float = 0.9
    seed: int = 1
    subset: int | None = None  # training images used (None: all)
    test_subset: int | None = None
    dataset: str = "fashion-mnist"
    data: str | None = None  # folder with the IDX files (None: the usual places)

    def __post_init__(self) -> None:
        if len(self.widths) < 2:
            raise InputError(
                "Forward-Forward reads out layers 2..L, so it needs at least two layers; "
                f"got widths {self.widths}."
            )
        for w in self.widths:
            count(w, "widths")
        count(self.epochs, "epochs")
        count(self.batch_size, "batch_size")
        for name in ("lr", "readout_lr"):
            positive(getattr(self, name), name)
        for name in ("weight_decay", "readout_weight_decay", "peer_normalisation"):
            non_negative(getattr(self, name), name)
        if not 0 <= self.momentum < 1 or not 0 <= self.peer_momentum < 1:
            raise InputError("momentum and peer_momentum must lie in [0, 1).")
        index(self.seed, "seed")
        optional_count(self.subset, "subset")
        optional_count(self.test_subset, "test_subset")


class _ReLUFullGrad(torch.autograd.Function):
    """ReLU forward; the gradient passes unchanged whatever the input's sign."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad.clone()


def rms_normalise(z: Tensor) -> Tensor:
    """``z / (sqrt(mean(z^2)) + 1e-8)`` along the last axis: the orientation alone."""
    return z / (torch.sqrt(torch.mean(z**2, dim=-1, keepdim=True)) + 1e-8)


class FFNet(nn.Module):
    """The layers, their running means and the read-out (module docstring)."""

    def __init__(self, widths: tuple[int, ...], inputs: int = 784) -> None:
        super().__init__()
        sizes = (inputs, *widths)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        for layer in self.layers:
            assert isinstance(layer, nn.Linear)
            nn.init.normal_(layer.weight, 0.0, 1.0 / np.sqrt(layer.out_features))
            nn.init.zeros_(layer.bias)
        for k, w in enumerate(widths):
            self.register_buffer(f"running_mean_{k}", torch.full((w,), 0.5))
        self.readout = nn.Linear(sum(widths[1:]), CLASSES, bias=False)
        nn.init.zeros_(self.readout.weight)

    def activities(self, x: Tensor) -> list[Tensor]:
        """Each layer's activity a_l for inputs ``x`` ``[B, 784]``; the input of every layer
        is the detached, normalised activity of the one before."""
        out = []
        z = rms_normalise(x)
        for layer in self.layers:
            a = _ReLUFullGrad.apply(layer(z))
            assert isinstance(a, Tensor)
            out.append(a)
            z = rms_normalise(a.detach())
        return out

    def losses(
        self, positive: Tensor, negative: Tensor, peer_weight: float, peer_momentum: float
    ) -> tuple[list[Tensor], Tensor]:
        """Each layer's loss (binary cross-entropy plus peer normalisation) and the
        accuracy of ``sigmoid(G - H) > 0.5`` per layer."""
        batch = positive.shape[0]
        target = torch.cat([torch.ones(batch), torch.zeros(negative.shape[0])])
        losses, accuracy = [], []
        for k, a in enumerate(self.activities(torch.cat([positive, negative]))):
            logits = a.pow(2).sum(-1) - a.shape[1]
            loss = F.binary_cross_entropy_with_logits(logits, target)
            if peer_weight > 0:
                name = f"running_mean_{k}"
                mean = getattr(self, name).detach() * peer_momentum + a[:batch].mean(0) * (
                    1 - peer_momentum
                )
                loss = loss + peer_weight * ((mean.mean() - mean) ** 2).mean()
                setattr(self, name, mean.detach())
            losses.append(loss)
            accuracy.append(((logits > 0) == (target > 0.5)).float().mean())
        return losses, torch.stack(accuracy)

    def features(self, images: Tensor) -> Tensor:
        """The read-out's input: normalised activities of layers 2..L on the neutral label."""
        with torch.no_grad():
            acts = self.activities(embed_labels(images, None))
        return torch.cat([rms_normalise(a) for a in acts[1:]], dim=-1)

    @torch.no_grad()
    def goodness(self, images: Tensor) -> Tensor:
        """``[B, 10]``: the goodness of layers 2..L summed, with each label embedded."""
        columns = []
        for label in range(CLASSES):
            labels = torch.full((images.shape[0],), label, dtype=torch.long)
            acts = self.activities(embed_labels(images, labels))
            columns.append(torch.stack([a.pow(2).sum(-1) for a in acts[1:]]).sum(0))
        return torch.stack(columns, dim=-1)


@dataclass
class Split:
    """Images ``[N, 784]`` in [0, 1] and labels ``[N]``."""

    images: Tensor
    labels: Tensor


def load_images(config: FFConfig, split: str) -> Split:
    """A split of the configured dataset (``subset`` / ``test_subset``: its first images)."""
    from ..data.sources import load_split

    images, labels = load_split(config.dataset, split, root=config.data)  # type: ignore[arg-type]
    keep = config.subset if split == "train" else config.test_subset
    if keep is not None:
        images, labels = images[:keep], labels[:keep]
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    return Split(x, torch.from_numpy(labels.astype(np.int64)))


@torch.no_grad()
def evaluate(net: FFNet, data: Split, batch: int = 1000) -> dict[str, float]:
    """Test error (fraction) of the goodness prediction and of the read-out."""
    wrong = {"goodness": 0, "readout": 0}
    for start in range(0, len(data.labels), batch):
        x, y = data.images[start : start + batch], data.labels[start : start + batch]
        wrong["goodness"] += int((net.goodness(x).argmax(-1) != y).sum())
        wrong["readout"] += int((net.readout(net.features(x)).argmax(-1) != y).sum())
    return {f"{k}_error": v / len(data.labels) for k, v in wrong.items()}


def _rates(config: FFConfig, epoch: int) -> tuple[float, float]:
    scale = 1.0
    if epoch > config.epochs // 2:
        scale = 2 * (1 + config.epochs - epoch) / config.epochs
    return config.lr * scale, config.readout_lr * scale


@dataclass
class FFRun:
    """A finished (or resumed) run: the net and its per-epoch metrics."""

    net: FFNet
    metrics: list[dict[str, float]] = field(default_factory=list)


def train_forward_forward(
    config: FFConfig,
    out: str | Path,
    *,
    resume: bool = False,
    train: Split | None = None,
    test: Split | None = None,
    progress: Callable[[dict[str, float]], None] | None = None,
) -> FFRun:
    """Train ``config`` into ``out`` (``checkpoint.pt``, ``metrics.json`` after every
    epoch); ``resume`` continues a stopped run; ``train``/``test``: data instead of the
    configured dataset's splits."""
    out = Path(out)
    train = train if train is not None else load_images(config, "train")
    test = test if test is not None else load_images(config, "test")
    torch.manual_seed(config.seed)
    net = FFNet(config.widths, inputs=train.images.shape[1])
    readout = list(net.readout.parameters())
    layers = [p for p in net.parameters() if all(p is not q for q in readout)]
    optimiser = torch.optim.SGD(
        [
            {"params": layers, "lr": config.lr, "weight_decay": config.weight_decay},
            {
                "params": readout,
                "lr": config.readout_lr,
                "weight_decay": config.readout_weight_decay,
            },
        ],
        momentum=config.momentum,
    )
    metrics: list[dict[str, float]] = []
    first = 0
    path = out / "checkpoint.pt"
    if resume and path.exists():
        saved = read_checkpoint(path, kind=KIND, fix="delete it and train from the start")
        if saved["config"] != asdict(config):
            raise InputError(
                f"{path} was trained with other settings ({saved['config']}); use another "
                "--out, or the same settings to resume."
            )
        net.load_state_dict(saved["state_dict"])
        optimiser.load_state_dict(saved["optimiser"])
        metrics, first = saved["metrics"], saved["epoch"]
    n = len(train.labels)
    steps = n // config.batch_size
    if steps == 0:
        raise InputError(f"{n} training images are fewer than one batch of {config.batch_size}.")
    for epoch in range(first, config.epochs):
        began = time.perf_counter()
        lr, readout_lr = _rates(config, epoch)
        optimiser.param_groups[0]["lr"], optimiser.param_groups[1]["lr"] = lr, readout_lr
        generator = epoch_generator(config.seed, epoch)
        order = torch.randperm(n, generator=generator)
        net.train()
        totals = torch.zeros(3)
        for step in range(steps):
            chosen = order[step * config.batch_size : (step + 1) * config.batch_size]
            x, y = train.images[chosen], train.labels[chosen]
            layer_losses, _ = net.losses(
                embed_labels(x, y),
                embed_labels(x, wrong_labels(y, generator)),
                config.peer_normalisation,
                config.peer_momentum,
            )
            logits = net.readout(net.features(x))
            logits = logits - logits.max(-1, keepdim=True).values.detach()
            classification = F.cross_entropy(logits, y)
            loss = torch.stack(layer_losses).sum() + classification
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            totals += torch.tensor(
                [loss.item(), classification.item(), (logits.argmax(-1) != y).float().mean()]
            )
        net.eval()
        trained = time.perf_counter() - began
        row = {
            "epoch": epoch + 1,
            "loss": float(totals[0] / steps),
            "readout_loss": float(totals[1] / steps),
            "train_readout_error": float(totals[2] / steps),
            **evaluate(net, test),
            "train_seconds": trained,
            "seconds": time.perf_counter() - began,  # with the test evaluation
        }
        metrics.append(row)
        save_checkpoint(
            path,
            {
                "config": asdict(config),
                "state_dict": net.state_dict(),
                "optimiser": optimiser.state_dict(),
                "metrics": metrics,
                "epoch": epoch + 1,
            },
            kind=KIND,
        )
        write_json(out / "metrics.json", {"config": asdict(config), "epochs": metrics})
        if progress is not None:
            progress(row)
    return FFRun(net, metrics)
