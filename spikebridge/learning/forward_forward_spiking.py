r"""Forward-Forward training (Hinton, arXiv 2212.13345) of a described spiking network.

Any feed-forward described network (:mod:`.ff_layers` states what it must be) is trained
layer by layer, with the label embedded in its image as in the ReLU version
(:mod:`.forward_forward`: one-hot in the first 10 pixels, negatives with a label drawn from
the nine wrong ones, 0.1 each for the neutral sample):

* **Run.** The image x is the network's value source, held over ``steps`` steps (direct
  current input); each layer runs on the detached spikes of the layers before it, so no
  gradient crosses a layer, and the gradient of a layer's loss flows back through its own
  steps (the surrogate of its model's spike function).
* **Goodness** of layer l, selectable: ``spike_count``, G_l = sum_j c_lj^2 with c_lj the
  spike count of neuron j over the steps; or ``membrane``, G_l = sum_j (mean_t v_lj)^2 of
  its membrane variables (the model's ``MEMBRANE``) in the model's units.
* **Layer loss.** p(positive) = sigmoid((G_l - theta_l) / tau), theta_l = ``threshold``
  (default: the layer's size, as loeweX's threshold H) and tau = ``temperature`` (default:
  steps^2 for spike counts, the squared count of a neuron firing at every step, so that
  the logit counts such neurons; 1 for membranes); binary cross-entropy over the positive
  and negative halves of the batch. (With tau = 1 the logits of spike counts reach
  thousands and the loss saturates: on 10,000 Fashion-MNIST images, 4 epochs, LIF 2 x 500,
  test error 34.9 % against 26.0 % with tau = steps^2.) Spikes are not normalised
  between layers: a division by the length of a layer's activity over its neurons is no
  synapse of the network that bridges to Brian2.
* **Read-out.** A linear classifier (no bias, zero initial weights) on every layer's spike
  counts on the neutral sample, each layer's vector divided by its root mean square,
  trained on detached features at the same time (cross-entropy).
* **Prediction.** ``goodness``: the label whose embedding gives the largest sum of G_l over
  ``prediction_layers`` (default: all; one run per label); ``readout``: the read-out's
  argmax on the neutral sample.
* **Optimiser.** Adam (lr 1e-3; the snnTorch Forward-Forward tutorial and
  mpezeshki/pytorch_forward_forward, on which it is built, use Adam too), batch 100,
  10 epochs, no schedule.

:mod:`.ff_networks` builds the default networks (chains of populations). Training is
deterministic given the seed, writes ``checkpoint.pt``, ``metrics.json`` and the trained
description ``network.npz`` (runs in Brian2 as it is) atomically after every epoch, and
resumes. With several tasks per image, each sample trains one task (drawn uniformly; its
true or a wrong label, the other tasks' blocks neutral), as the goodness prediction of a
task shows it (:func:`.label_embedding.training_pair`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..checks import count, index, non_negative, optional_count, positive
from ..errors import InputError
from ..io import write_json
from ..network import Network
from ..network.file import save_network
from ..torch.surrogate import rectangular
from .checkpoint import read_checkpoint, save_checkpoint
from .epoch_order import epoch_generator
from .ff_layers import GOODNESS, LayerRun, LayerwiseNetwork, goodness
from .forward_forward import Split, load_images, rms_normalise
from .label_embedding import CLASSES, candidates, embed_labels, training_pair

KIND = "spikebridge-spiking-forward-forward-checkpoint"


@dataclass(frozen=True)
class SpikingFFConfig:
    """The training settings of a spiking Forward-Forward run (saved in its checkpoint)."""

    steps: int = 10
    goodness: str = "spike_count"
    threshold: float | None = None  # None: each layer's size
    temperature: float | None = None  # None: steps**2 (spike_count) or 1 (membrane)
    prediction_layers: tuple[int, ...] | None = None  # 1-based; None: all
    epochs: int = 10
    batch_size: int = 100
    lr: float = 1e-3
    weight_decay: float = 0.0
    readout_lr: float = 1e-3
    seed: int = 1
    subset: int | None = None
    test_subset: int | None = None
    dataset: str = "fashion-mnist"
    data: str | None = None
    surrogate_width: float | None = None  # None: the first population's model's
    device: str = "cpu"

    def __post_init__(self) -> None:
        count(self.steps, "steps")
        if self.goodness not in GOODNESS:
            raise InputError(
                f"goodness must be one of {', '.join(GOODNESS)}, got {self.goodness!r}."
            )
        if self.threshold is not None:
            non_negative(self.threshold, "threshold")
        if self.prediction_layers is not None and not self.prediction_layers:
            raise InputError("prediction_layers needs at least one layer (None: all layers).")
        for k in self.prediction_layers or ():
            count(k, "prediction_layers")
        count(self.epochs, "epochs")
        count(self.batch_size, "batch_size")
        positive(self.lr, "lr")
        positive(self.readout_lr, "readout_lr")
        non_negative(self.weight_decay, "weight_decay")
        index(self.seed, "seed")
        optional_count(self.subset, "subset")
        optional_count(self.test_subset, "test_subset")
        if self.surrogate_width is not None:
            positive(self.surrogate_width, "surrogate_width")
        if self.temperature is not None:
            positive(self.temperature, "temperature")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise InputError("device cuda was asked for but torch sees no CUDA GPU; use cpu.")

    @property
    def tau(self) -> float:
        """The loss's temperature (module docstring)."""
        if self.temperature is not None:
            return float(self.temperature)
        return float(self.steps**2) if self.goodness == "spike_count" else 1.0


class SpikingFFNet(nn.Module):
    """The layers of a described network and the read-out (module docstring)."""

    def __init__(self, network: Network, config: SpikingFFConfig, tasks: int = 1) -> None:
        super().__init__()
        spike_fn = None if config.surrogate_width is None else rectangular(config.surrogate_width)
        self.layers = LayerwiseNetwork(network, spike_fn=spike_fn, dtype=torch.float32)
        self.config = config
        sizes = self.layers.sizes
        layers = config.prediction_layers or tuple(range(1, len(sizes) + 1))
        for k in layers:
            if k > len(sizes):
                raise InputError(
                    f"prediction_layers names layer {k}; the network has {len(sizes)} layers."
                )
        self.prediction = tuple(k - 1 for k in layers)
        self.thresholds = tuple(
            float(size if config.threshold is None else config.threshold) for size in sizes
        )
        self.tasks = count(tasks, "tasks")
        self.readout = nn.Linear(sum(sizes), CLASSES * self.tasks, bias=False)
        nn.init.zeros_(self.readout.weight)
        self.pixels = self.layers.pixels

    def runs(self, x: Tensor) -> list[LayerRun]:
        return self.layers(x, self.config.steps, membrane=self.config.goodness == "membrane")

    def embed(self, images: Tensor, labels: Tensor | None) -> Tensor:
        """``images`` with ``labels`` written in (:mod:`.label_embedding`)."""
        return embed_labels(images, labels, tasks=self.tasks)

    def classify(self, images: Tensor) -> Tensor:
        """The read-out's logits ``[B, tasks, 10]`` on the neutral sample."""
        return self.readout(self.features(images)).view(-1, self.tasks, CLASSES)

    def losses(self, positive: Tensor, negative: Tensor) -> tuple[list[Tensor], Tensor]:
        """Each layer's loss and the accuracy of ``G > threshold`` per layer."""
        batch = positive.shape[0]
        target = torch.cat([torch.ones(batch), torch.zeros(negative.shape[0])]).to(positive)
        losses, accuracy = [], []
        for run, theta in zip(
            self.runs(torch.cat([positive, negative])), self.thresholds, strict=True
        ):
            logits = (goodness(run, self.config.goodness) - theta) / self.config.tau
            losses.append(F.binary_cross_entropy_with_logits(logits, target))
            accuracy.append(((logits > 0) == (target > 0.5)).float().mean())
        return losses, torch.stack(accuracy)

    @torch.no_grad()
    def features(self, images: Tensor) -> Tensor:
        """Every layer's spike counts on the neutral label, each divided by its rms."""
        runs = self.runs(self.embed(images, None))
        return torch.cat([rms_normalise(run.spikes.sum(0)) for run in runs], dim=-1)

    @torch.no_grad()
    def goodness(self, images: Tensor) -> Tensor:
        """``[B, tasks, 10]``: the goodness of the prediction layers summed, with each label
        of a task embedded and the other tasks' blocks neutral."""
        rows = []
        for task in range(self.tasks):
            columns = []
            for label in range(CLASSES):
                labels = candidates(images.shape[0], task, label, self.tasks).to(images.device)
                runs = self.runs(self.embed(images, labels))
                per_layer = [goodness(runs[k], self.config.goodness) for k in self.prediction]
                columns.append(torch.stack(per_layer).sum(0))
            rows.append(torch.stack(columns, dim=-1))
        return torch.stack(rows, dim=1)


def _tasks(labels: Tensor) -> Tensor:
    return labels[:, None] if labels.dim() == 1 else labels


@torch.no_grad()
def evaluate_spiking(net: SpikingFFNet, data: Split, batch: int = 500) -> dict[str, float]:
    """Test error (fraction) of the goodness prediction and of the read-out, averaged over
    the tasks, and per task (``..._task1``, ...) where there are several."""
    device = next(net.parameters()).device
    wrong = {"goodness": torch.zeros(net.tasks), "readout": torch.zeros(net.tasks)}
    for start in range(0, len(data.labels), batch):
        x = data.images[start : start + batch].to(device)
        y = _tasks(data.labels[start : start + batch]).to(device)
        wrong["goodness"] += (net.goodness(x).argmax(-1) != y).sum(0).cpu()
        wrong["readout"] += (net.classify(x).argmax(-1) != y).sum(0).cpu()
    n = len(data.labels)
    out = {f"{k}_error": float(v.mean()) / n for k, v in wrong.items()}
    if net.tasks > 1:
        for k, v in wrong.items():
            out.update({f"{k}_error_task{t + 1}": float(v[t]) / n for t in range(net.tasks)})
    return out


@dataclass
class SpikingFFRun:
    """A finished (or resumed) run: the net, its trained description and the metrics."""

    net: SpikingFFNet
    network: Network
    metrics: list[dict[str, float]] = field(default_factory=list)


_MAY_CHANGE = {"epochs", "device", "data"}


def _comparable(about: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a resumed run must share with the stopped one (not where its data lies)."""
    return {k: v for k, v in (about or {}).items() if k != "data_root"}


def _fingerprint(net: SpikingFFNet) -> dict[str, Any]:
    return {
        "network": net.layers.network.name,
        "shapes": {k: list(v.shape) for k, v in net.state_dict().items()},
    }


def train_spiking_forward_forward(
    network: Network,
    config: SpikingFFConfig,
    out: str | Path,
    *,
    resume: bool = False,
    train: Split | None = None,
    test: Split | None = None,
    progress: Callable[[dict[str, float]], None] | None = None,
    about: Mapping[str, Any] | None = None,
) -> SpikingFFRun:
    """Train the described ``network`` with Forward-Forward into ``out`` (module
    docstring); ``resume`` continues a stopped run (``epochs``, ``device`` and the data's
    folder may change);
    ``train``/``test``: data instead of the configured dataset's splits (images ``[N,
    pixels]``, labels ``[N]`` or ``[N, tasks]``); ``about``: what the run is (JSON-ready,
    e.g. the net and dataset it was built from), kept in the checkpoint and metrics."""
    out = Path(out)
    if train is None or test is None:
        images = _image_config(config)
        train = train if train is not None else load_images(images, "train")
        test = test if test is not None else load_images(images, "test")
    torch.manual_seed(config.seed)
    net = SpikingFFNet(network, config, tasks=_tasks(train.labels).shape[1]).to(config.device)
    if train.images.shape[1] != net.pixels:
        raise InputError(
            f"The images have {train.images.shape[1]} pixels; the network's value source "
            f"'{net.layers.input}' has {net.pixels}."
        )
    readout = list(net.readout.parameters())
    layers = [p for p in net.parameters() if all(p is not q for q in readout)]
    optimiser = torch.optim.Adam(
        [
            {"params": layers, "lr": config.lr, "weight_decay": config.weight_decay},
            {"params": readout, "lr": config.readout_lr},
        ]
    )
    metrics: list[dict[str, float]] = []
    first = 0
    path = out / "checkpoint.pt"
    if path.exists() and not resume:
        raise InputError(
            f"{out} already holds a checkpoint. Resume it, or choose another output folder "
            "(nothing was overwritten)."
        )
    if resume and path.exists():
        saved = read_checkpoint(path, kind=KIND, fix="delete it and train from the start")
        changed = sorted(
            key
            for key, value in asdict(config).items()
            if key not in _MAY_CHANGE and saved["config"].get(key) != value
        )
        if _comparable(saved.get("about")) != _comparable(about):
            changed.append("about")
        if changed or saved["fingerprint"] != _fingerprint(net):
            what = ", ".join(changed) if changed else "the network"
            raise InputError(
                f"{path} was trained with other settings ({what}); use another output "
                "folder, or the same settings and network to resume (only epochs, device "
                "and the data's folder may change)."
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
        generator = epoch_generator(config.seed, epoch)
        order = torch.randperm(n, generator=generator)
        totals = torch.zeros(3 + len(net.thresholds))
        for step in range(steps):
            chosen = order[step * config.batch_size : (step + 1) * config.batch_size]
            x, y = train.images[chosen], train.labels[chosen]
            shown, negative = training_pair(y, generator)
            x, y = x.to(config.device), y.to(config.device)
            shown, negative = shown.to(config.device), negative.to(config.device)
            layer_losses, separation = net.losses(net.embed(x, shown), net.embed(x, negative))
            logits = net.classify(x)
            targets = _tasks(y)
            classification = sum(
                (F.cross_entropy(logits[:, t], targets[:, t]) for t in range(net.tasks)),
                torch.zeros((), device=logits.device),
            )
            loss = torch.stack(layer_losses).sum() + classification
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"The loss became {float(loss)} in epoch {epoch + 1}; lower the learning "
                    f"rate. The last checkpoint ({path}) is from before this epoch."
                )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            totals += torch.cat(
                [
                    torch.tensor([loss.item(), classification.item()]),
                    (logits.argmax(-1) != targets).float().mean().cpu()[None],
                    separation.detach().cpu(),
                ]
            )
        trained = time.perf_counter() - began
        row = {
            "epoch": epoch + 1,
            "loss": float(totals[0] / steps),
            "readout_loss": float(totals[1] / steps),
            "train_readout_error": float(totals[2] / steps),
            **{
                f"layer{k + 1}_separation": float(totals[3 + k] / steps)
                for k in range(len(net.thresholds))
            },
            **evaluate_spiking(net, test),
            "train_seconds": trained,
            "seconds": time.perf_counter() - began,
        }
        metrics.append(row)
        save_checkpoint(
            path,
            {
                "config": asdict(config),
                "about": dict(about) if about else None,
                "fingerprint": _fingerprint(net),
                "state_dict": net.state_dict(),
                "optimiser": optimiser.state_dict(),
                "metrics": metrics,
                "epoch": epoch + 1,
            },
            kind=KIND,
        )
        save_network(out / "network.npz", net.layers.to_network())
        write_json(
            out / "metrics.json",
            {"config": asdict(config), "about": dict(about or {}), "epochs": metrics},
        )
        if progress is not None:
            progress(row)
    return SpikingFFRun(net, net.layers.to_network(), metrics)


def _image_config(config: SpikingFFConfig) -> Any:
    from .forward_forward import FFConfig

    return FFConfig(
        subset=config.subset,
        test_subset=config.test_subset,
        dataset=config.dataset,
        data=config.data,
    )
