r"""Mutual-information analysis of spiking encoders: the paper's Fig. 5d (digest section 3.5).

The paper's ``MI/`` code, a deep variational information bottleneck (Alemi et al.) whose
encoder is one spiking layer of LIF, HH or s-LIF2HH neurons::

    I_j     = W_j x + b_j                        x: the 36x36 image (1296 pixels), j = 1..n_in
    s_t     = neurons(I, t)                      t = 1..T (T = 15), the same I at every step
    (m, r)  = (1/T) sum_t (W_e s_t + b_e)        Linear(features -> 2K) per step, averaged; K = 256
    mu      = m,   sigma = softplus(r - 5)
    Z       = mu + sigma * eps,                  eps ~ N(0, I_K)
    y_k     = W_k Z + b_k                        k = 1, 2: two Linear(K -> 10) task heads

``features`` is the layer's spike trains: 512 for LIF and HH, 4 x 512 = 2048 for s-LIF2HH
(all four sub-neurons' events). Training minimises CE_1 + CE_2 only (beta = 1e-3 enters the
logged total alone, so the bounds are measurements, not a VIB objective). The bounds, in bits,
averaged over the test set with one sample of Z (as the paper's code)::

    I(X;Z)   <= E_x KL(N(mu, sigma^2) || N(0, I)) / ln 2
              = E_x sum_j (mu_j^2 + sigma_j^2 - 1 - 2 ln sigma_j) / (2 ln 2)
    I(Z;Y)   >= log2 10 - (CE_1 + CE_2) / ln 2     the paper's form: both CEs from ONE log2 10
    I(Z;Y_k) >= log2 10 - CE_k / ln 2              per task (H(Y_k) = log2 10, uniform labels)

so the paper's I(Z;Y) = I(Z;Y_1) + I(Z;Y_2) - log2 10: a valid but looser lower bound on
I(Z;(Y_1, Y_2)) (H(Y_1, Y_2) >= log2 10), which is negative until the two tasks together beat
one chance-level task. The paper reports the values of the test epoch with the best 12-sample
accuracy (class probabilities averaged over 12 samples of Z, mean of the two tasks), computed
with an EMA copy of the weights (decay 0.999).

The spiking layers are :class:`~spikebridge.torch.SpikingNeurons` of ``lif_dl``, ``hh_dl`` and
``s_lif2hh_dl`` built by :func:`spikebridge.nets.fc.spiking_neurons`; the paper's MI settings
are the models' parameters (no dynamics are written here):

========  ============  ==========================================  ==========  ============
encoder   model         parameters                                  surrogate   projection
========  ============  ==========================================  ==========  ============
lif       lif_dl        decay 0.2, theta 0.2                        0.4         Xavier, b = 0
hh        hh_dl         theta 0.2 -> 2.3, dt 0.01, coe 0.01         0.4         Xavier, b = 0
s-lif2hh  s_lif2hh_dl   decay 0.2, theta 0.8, signed 3->1 map       0.4         torch default
========  ============  ==========================================  ==========  ============

Optimiser: Adam (lr 1e-4, betas (0.5, 0.999), no weight decay), ExponentialLR gamma 0.97 after
every second epoch, 200 epochs, batch 128, seed 1. Every epoch writes the encoder's
checkpoint (model, EMA copy, optimiser, scheduler, epoch, history) atomically; ``resume=True``
continues and gives the same numbers as an uninterrupted run, because the shuffling and the
samples of eps of epoch ``e`` depend only on ``(seed, e)``.
"""

from __future__ import annotations

import copy
import math
import os
import platform
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..checks import count, non_negative, positive
from ..data.multitask import MULTITASK_DATASETS
from ..errors import InputError
from ..io import write_json
from ..learning.checkpoint import read_checkpoint, save_checkpoint
from ..learning.data import TaskData, load_task_data
from ..learning.epoch_order import epoch_order
from ..learning.train import check_run_settings
from ..nets.fc import spiking_neurons
from ..nets.specs import CLASSES, IMAGE_SIZE, STEPS, TASKS, NetSpec

#: log2 of the number of classes of each task: H(Y_k) for uniform labels, in bits.
LOG2_CLASSES = math.log2(CLASSES)
LN2 = math.log(2.0)
#: The offset of sigma = softplus(r - SIGMA_OFFSET).
SIGMA_OFFSET = 5.0

ENCODERS: tuple[str, ...] = ("lif", "hh", "s-lif2hh")
LABELS = {"lif": "LIF", "hh": "HH", "s-lif2hh": "s-LIF2HH"}
PAPER_DATASET = "multi-fashion-mnist"
CHECKPOINT_FORMAT = "spikebridge-information-checkpoint"
_RESTART = "delete it to restart that encoder, or choose another --out"


@dataclass(frozen=True)
class Encoder:
    """One spiking encoder of the paper's MI code: the layer's spec and its projection init."""

    name: str
    spec: NetSpec
    init: Literal["xavier", "default"]
    note: str


#: The paper's MI encoders (``MI/model_lif.py``, ``model_hh.py``, ``model_lif_hh.py``).
ENCODER_SPECS: dict[str, Encoder] = {
    "lif": Encoder(
        "lif",
        NetSpec("mi-lif", "fc", "lif_dl", 512, {"decay": 0.2, "theta": 0.2}, None, 0.4),
        "xavier",
        "lif_dl with decay 0.2, theta 0.2; Xavier-uniform projection, zero bias",
    ),
    "hh": Encoder(
        "hh",
        NetSpec("mi-hh", "fc", "hh_dl", 512, {"theta": 2.3}, 0.01, 0.4),
        "xavier",
        "hh_dl with theta 2.3, dt 0.01, gate rates coe 0.01 * U[0, 1) (the model's "
        "RANDOM_PARAMETERS); Xavier-uniform projection, zero bias, no x0.01 scaling",
    ),
    "s-lif2hh": Encoder(
        "s-lif2hh",
        NetSpec("mi-s-lif2hh", "fc", "s_lif2hh_dl", 512, {"decay": 0.2, "theta": 0.8}, None, 0.4),
        "default",
        "s_lif2hh_dl with decay 0.2, theta 0.8; three default-initialised projections; the "
        "shared 3->1 map (a_1..a_3, b_4) drawn as a default nn.Linear(3, 1), signed, as the MI "
        "code (the model's default is |w|, the multi-task fc code's); all 4 x 512 spike trains",
    ),
}


# -- the bounds ---------------------------------------------------------------------------------
def sigma_from_raw(raw: Tensor) -> Tensor:
    """sigma = softplus(raw - 5), the paper's standard deviation of Z."""
    return F.softplus(raw - SIGMA_OFFSET)


def kl_bits(mu: Tensor, sigma: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) in bits, summed over the last axis: ``[B, K]`` -> ``[B]``."""
    return (mu.pow(2) + sigma.pow(2) - 1.0 - 2.0 * sigma.log()).sum(-1) / (2.0 * LN2)


def izy_bounds(cross_entropies_nats: Sequence[float]) -> dict[str, float]:
    """Lower bounds on I(Z;Y) in bits from each task's mean test cross-entropy (nats).

    ``combined``: the paper's ``log2 10 - (CE_1 + CE_2) / ln 2``; ``task<k>``: the per-task
    ``log2 10 - CE_k / ln 2``.
    """
    values = [float(ce) for ce in cross_entropies_nats]
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise InputError(
            f"Cross-entropies must be finite and non-negative, got {values}; pass each task's "
            "mean test cross-entropy in nats."
        )
    bounds = {"combined": LOG2_CLASSES - sum(values) / LN2}
    for k, value in enumerate(values):
        bounds[f"task{k + 1}"] = LOG2_CLASSES - value / LN2
    return bounds


# -- the network --------------------------------------------------------------------------------
class InformationNet(nn.Module):
    """Image -> spiking encoder -> (mu, sigma) of Z -> two task heads (see the module docstring).

    Construction draws from torch's global generator (the projections, the s-LIF2HH 3->1
    map) and from ``seed`` (the models' random parameters, e.g. the HH gate rates).
    """

    def __init__(
        self, encoder: str, *, k: int = 256, steps: int = STEPS, width: int = 512, seed: int = 1
    ) -> None:
        super().__init__()
        chosen = encoder_spec(encoder)
        spec = replace(chosen.spec, width=width)
        if chosen.name == "s-lif2hh":
            linear = nn.Linear(3, 1)  # the MI code's lif_fc: default init, signed weights
            weights = linear.weight.detach().flatten().tolist()
            spec = replace(
                spec,
                parameters={
                    **spec.parameters,
                    "a_1": weights[0],
                    "a_2": weights[1],
                    "a_3": weights[2],
                    "b_4": float(linear.bias.detach()[0]),
                },
            )
        self.encoder = chosen.name
        self.k = int(k)
        self.steps = int(steps)
        self.neurons = spiking_neurons(spec, width, seed)
        model = self.neurons.model
        self.projections: nn.ModuleList = nn.ModuleList(
            nn.Linear(IMAGE_SIZE * IMAGE_SIZE, width) for _ in model.inputs
        )
        if chosen.init == "xavier":
            for projection in self.projections:
                assert isinstance(projection, nn.Linear)
                nn.init.xavier_uniform_(projection.weight, gain=1.0)
                nn.init.zeros_(projection.bias)
        self.features = len(model.event_names) * width
        self.statistics = nn.Linear(self.features, 2 * self.k)
        self.heads = nn.ModuleList(nn.Linear(self.k, CLASSES) for _ in range(TASKS))

    def spikes(self, images: Tensor) -> Tensor:
        """Spikes ``[T, B, features]`` of the encoder layer."""
        flat = images.flatten(1)
        drives = {
            name: projection(flat).expand(self.steps, flat.shape[0], -1)
            for name, projection in zip(self.neurons.model.inputs, self.projections, strict=True)
        }
        spk: Tensor = self.neurons(drives)[0]
        return spk

    def encode(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """``(mu, sigma)``, each ``[B, K]``: the per-step Linear averaged over time."""
        return self.encode_spikes(self.spikes(images))

    def encode_spikes(self, spikes: Tensor) -> tuple[Tensor, Tensor]:
        """``(mu, sigma)`` from the layer's spikes ``[T, B, features]``."""
        stats = self.statistics(spikes).mean(0)
        return stats[:, : self.k], sigma_from_raw(stats[:, self.k :])

    def decode(self, z: Tensor) -> Tensor:
        """Logits ``[*, TASKS, CLASSES]`` of samples ``z`` ``[*, K]``."""
        return torch.stack([head(z) for head in self.heads], dim=-2)

    def forward(
        self, images: Tensor, samples: int = 1, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``(mu, sigma, logits)``; logits ``[samples, B, TASKS, CLASSES]``."""
        mu, sigma = self.encode(images)
        eps = torch.randn(
            (samples, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype
        )
        return mu, sigma, self.decode(mu + sigma * eps)


def encoder_spec(name: str) -> Encoder:
    """The MI encoder ``name``, with a clear error for an unknown one."""
    if name not in ENCODER_SPECS:
        raise InputError(
            f"Unknown encoder '{name}'. Choose from: {', '.join(ENCODER_SPECS)} "
            "(e.g. --encoders lif,hh,s-lif2hh)."
        )
    return ENCODER_SPECS[name]


class EMA:
    """Exponential moving average of a module's parameters (buffers are copied)."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = float(decay)
        self.module = copy.deepcopy(module)
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, source: nn.Module) -> None:
        for mine, theirs in zip(self.module.parameters(), source.parameters(), strict=True):
            mine.mul_(self.decay).add_(theirs.detach(), alpha=1.0 - self.decay)
        for buffer, value in zip(self.module.buffers(), source.buffers(), strict=True):
            buffer.copy_(value)


# -- settings -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class InformationSettings:
    """Everything that determines a study (the paper's ``MI/`` settings by default)."""

    dataset: str = "multi-fashion"
    epochs: int = 200
    subset: int | None = None  # training composites (None: all 120,000)
    test_subset: int | None = None  # test composites (None: all 20,000)
    batch_size: int = 128
    seed: int = 1
    data_seed: int = 0
    steps: int = STEPS
    width: int = 512
    k: int = 256
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    gamma: float = 0.97
    gamma_every: int = 2
    ema_decay: float = 0.999
    samples: int = 12
    beta: float = 1e-3
    eval_batch_size: int = 500
    device: str = "cpu"
    data_root: str | None = None
    encoders: tuple[str, ...] = field(default=ENCODERS)

    def checked(self) -> InformationSettings:
        if not self.encoders:
            raise InputError("No encoder chosen; pass at least one of: lif, hh, s-lif2hh.")
        for name in self.encoders:
            encoder_spec(name)
        if len(set(self.encoders)) != len(self.encoders):
            raise InputError(f"Encoders repeated in {list(self.encoders)}; name each once.")
        if self.dataset not in MULTITASK_DATASETS:
            raise InputError(
                f"Unknown dataset '{self.dataset}'. Choose one of: {', '.join(MULTITASK_DATASETS)}."
            )
        check_run_settings(
            self,
            ("epochs", "batch_size", "steps", "width", "k", "samples", "eval_batch_size"),
        )
        count(self.gamma_every, "gamma_every")
        non_negative(self.beta, "beta")
        if not positive(self.gamma, "gamma") <= 1:
            raise InputError(
                f"gamma (the learning-rate decay) must be in (0, 1], got {self.gamma}."
            )
        for name, value in (
            ("ema_decay", self.ema_decay),
            *zip(("betas[0]", "betas[1]"), self.betas, strict=True),
        ):
            if not non_negative(value, name) < 1:
                raise InputError(f"{name} must be in [0, 1), got {value!r}.")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["betas"] = list(self.betas)
        data["encoders"] = list(self.encoders)
        return data

    def run_key(self) -> dict[str, Any]:
        """The settings a resumed encoder must share with its checkpoint."""
        data = self.to_dict()
        for name in _MAY_CHANGE:
            data.pop(name)
        return data


#: Settings a resumed run may change: more epochs, another device, other encoders.
_MAY_CHANGE = ("epochs", "device", "data_root", "encoders")

#: The quick setting (CI): small subsets, 2 epochs.
QUICK = {"epochs": 2, "subset": 256, "test_subset": 128}


# -- training and evaluation --------------------------------------------------------------------
def _generator(seed: int, epoch: int, stream: int, device: str) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + epoch * 7 + stream)


def _batches(data: TaskData, batch_size: int, order: Tensor | None = None) -> Iterator[Any]:
    indices = order if order is not None else torch.arange(len(data))
    for start in range(0, len(data), batch_size):
        chosen = indices[start : start + batch_size]
        yield data.images[chosen], data.labels[chosen]


def _task_ce(logits: Tensor, labels: Tensor) -> list[Tensor]:
    return [F.cross_entropy(logits[:, k], labels[:, k]) for k in range(TASKS)]


@torch.no_grad()
def evaluate(
    net: InformationNet,
    data: TaskData,
    *,
    samples: int = 12,
    generator: torch.Generator | None = None,
    batch_size: int = 500,
    device: str = "cpu",
) -> dict[str, float]:
    """The bounds and accuracies of ``net`` on ``data`` (see the module docstring).

    CE and KL use one sample of Z per image, as the paper's test; the ``samples``-sample
    accuracy averages the class probabilities of ``samples`` further draws.
    """
    net.eval()
    n = len(data)
    kl_all: list[Tensor] = []
    ce_all: list[list[Tensor]] = [[] for _ in range(TASKS)]
    correct_1 = torch.zeros(TASKS, dtype=torch.int64)
    correct_s = torch.zeros(TASKS, dtype=torch.int64)
    spike_sum = 0.0
    for images, labels in _batches(data, batch_size):
        images, labels = images.to(device), labels.to(device)
        spikes = net.spikes(images)
        spike_sum += float(spikes.sum())
        mu, sigma = net.encode_spikes(spikes)
        eps = torch.randn((1 + samples, *mu.shape), generator=generator, device=device)
        logits = net.decode(mu + sigma * eps)  # [1 + S, B, TASKS, CLASSES]
        kl_all.append(kl_bits(mu, sigma).cpu())
        for k in range(TASKS):
            ce_all[k].append(F.cross_entropy(logits[0, :, k], labels[:, k], reduction="none").cpu())
        correct_1 += (logits[0].argmax(-1) == labels).sum(0).cpu()
        averaged = F.softmax(logits[1:], dim=-1).mean(0)  # over samples, per class
        correct_s += (averaged.argmax(-1) == labels).sum(0).cpu()
    kl = torch.cat(kl_all).double()
    ces = [torch.cat(parts).double() for parts in ce_all]
    bounds = izy_bounds([float(ce.mean()) for ce in ces])
    combined_per_sample = LOG2_CLASSES - torch.stack(ces).sum(0) / LN2
    out = {
        "I_XZ_bits": float(kl.mean()),
        "I_XZ_sem_bits": float(kl.std() / math.sqrt(n)) if n > 1 else 0.0,
        "I_ZY_bits": bounds["combined"],
        "I_ZY_sem_bits": float(combined_per_sample.std() / math.sqrt(n)) if n > 1 else 0.0,
        # spikes per spike train per time step, over the test set
        "spike_rate": spike_sum / (n * net.steps * net.features),
    }
    for k in range(TASKS):
        out[f"I_ZY_task{k + 1}_bits"] = bounds[f"task{k + 1}"]
        out[f"ce_task{k + 1}_nats"] = float(ces[k].mean())
        out[f"accuracy_1_task{k + 1}"] = float(correct_1[k]) / n
        out[f"accuracy_{samples}_task{k + 1}"] = float(correct_s[k]) / n
    out[f"accuracy_{samples}"] = sum(out[f"accuracy_{samples}_task{k + 1}"] for k in range(TASKS))
    out[f"accuracy_{samples}"] /= TASKS
    return out


def _check_resumable(saved: Mapping[str, Any], settings: InformationSettings, path: Path) -> None:
    current = settings.run_key()
    changed = sorted(key for key in current if saved.get(key) != current[key])
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {current[k]!r}" for k in changed)
        raise InputError(
            f"Cannot resume {path}: the run's settings differ ({details}). Resume with the same "
            "settings (only --epochs, --device and --encoders may change) or choose another --out."
        )


def best_epoch(history: Sequence[Mapping[str, Any]], samples: int = 12) -> Mapping[str, Any]:
    """The epoch record with the best ``samples``-sample test accuracy (the first if tied)."""
    if not history:
        raise InputError("No completed epoch to report; run at least one epoch.")
    best = history[0]
    for record in history[1:]:
        if record["test"][f"accuracy_{samples}"] > best["test"][f"accuracy_{samples}"]:
            best = record
    return best


def train_encoder(
    name: str,
    settings: InformationSettings,
    train_data: TaskData,
    test_data: TaskData,
    checkpoint: Path,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Train encoder ``name`` up to ``settings.epochs`` (continuing ``checkpoint`` if present)."""
    device = settings.device
    previous = (
        read_checkpoint(checkpoint, kind=CHECKPOINT_FORMAT, fix=_RESTART)
        if checkpoint.exists()
        else None
    )
    if previous is not None:
        _check_resumable(previous["settings"], settings, checkpoint)
        if int(previous["epoch"]) > settings.epochs:
            raise InputError(
                f"{checkpoint} already holds {previous['epoch']} epochs, more than the "
                f"{settings.epochs} asked for. Pass --epochs {previous['epoch']} or more, or "
                "choose another --out."
            )
    torch.manual_seed(settings.seed)
    net = InformationNet(
        name, k=settings.k, steps=settings.steps, width=settings.width, seed=settings.seed
    ).to(device)
    ema = EMA(net, settings.ema_decay)
    optimiser = torch.optim.Adam(net.parameters(), lr=settings.lr, betas=settings.betas)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma=settings.gamma)
    history: list[dict[str, Any]] = []
    start = 0
    if previous is not None:
        net.load_state_dict(previous["model"])
        ema.module.load_state_dict(previous["ema"])
        optimiser.load_state_dict(previous["optimizer"])
        scheduler.load_state_dict(previous["scheduler"])
        history = list(previous["history"])
        start = int(previous["epoch"])

    label = LABELS[name]
    epochs_bar = tqdm(
        range(start, settings.epochs),
        initial=start,
        total=settings.epochs,
        desc=f"{label} epochs",
        disable=not progress,
    )
    for epoch in epochs_bar:
        began = time.perf_counter()
        net.train()
        order = epoch_order(settings.seed, epoch, len(train_data))
        noise = _generator(settings.seed, epoch, 0, device)
        sums = {"ce_task1": 0.0, "ce_task2": 0.0, "kl_bits": 0.0}
        correct = torch.zeros(TASKS, dtype=torch.int64)
        seen = 0
        bar = tqdm(
            _batches(train_data, settings.batch_size, order),
            total=-(-len(train_data) // settings.batch_size),
            desc=f"{label} epoch {epoch + 1}/{settings.epochs}",
            disable=not progress,
            leave=False,
        )
        for images, labels in bar:
            images, labels = images.to(device), labels.to(device)
            mu, sigma, logits = net(images, generator=noise)
            ces = _task_ce(logits[0], labels)
            loss = ces[0] + ces[1]
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"The loss of {label} became {float(loss)} in epoch {epoch + 1}; lower the "
                    f"learning rate. The last checkpoint ({checkpoint}) is from before this epoch."
                )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            ema.update(net)
            b = len(labels)
            seen += b
            sums["ce_task1"] += float(ces[0].detach()) * b
            sums["ce_task2"] += float(ces[1].detach()) * b
            sums["kl_bits"] += float(kl_bits(mu.detach(), sigma.detach()).sum())
            correct += (logits[0].detach().argmax(-1) == labels).sum(0).cpu()
            bar.set_postfix(loss=f"{(sums['ce_task1'] + sums['ce_task2']) / seen:.3f}")
        lr = optimiser.param_groups[0]["lr"]
        if (epoch + 1) % settings.gamma_every == 0:
            scheduler.step()
        train_seconds = time.perf_counter() - began
        test = evaluate(
            ema.module,  # type: ignore[arg-type]
            test_data,
            samples=settings.samples,
            generator=_generator(settings.seed, epoch, 1, device),
            batch_size=settings.eval_batch_size,
            device=device,
        )
        ce_train = [sums["ce_task1"] / seen, sums["ce_task2"] / seen]
        train_bounds = izy_bounds(ce_train)
        kl_train = sums["kl_bits"] / seen
        record = {
            "epoch": epoch + 1,
            "lr": lr,
            "train": {
                "ce_task1_nats": ce_train[0],
                "ce_task2_nats": ce_train[1],
                "I_XZ_bits": kl_train,
                "I_ZY_bits": train_bounds["combined"],
                "I_ZY_task1_bits": train_bounds["task1"],
                "I_ZY_task2_bits": train_bounds["task2"],
                # the paper's logged total: class loss in bits + beta * info loss (not optimised)
                "total_bits": sum(ce_train) / LN2 + settings.beta * kl_train,
                "accuracy_1_task1": float(correct[0]) / seen,
                "accuracy_1_task2": float(correct[1]) / seen,
            },
            "test": test,
            "seconds": time.perf_counter() - began,
            "train_seconds": train_seconds,
        }
        history.append(record)
        save_checkpoint(
            checkpoint,
            {
                "encoder": name,
                "settings": settings.run_key(),
                "epoch": epoch + 1,
                "model": net.state_dict(),
                "ema": ema.module.state_dict(),
                "optimizer": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "history": history,
            },
            kind=CHECKPOINT_FORMAT,
        )
        epochs_bar.set_postfix(
            IXZ=f"{test['I_XZ_bits']:.1f}",
            IZY=f"{test['I_ZY_bits']:.2f}",
            acc=f"{test[f'accuracy_{settings.samples}']:.3f}",
        )
    # Diagnostic beside the paper's protocol: the trained (non-EMA) weights after the last
    # epoch, which the EMA copy lags by about 1 / (1 - decay) = 1000 steps.
    trained = evaluate(
        net,
        test_data,
        samples=settings.samples,
        generator=_generator(settings.seed, len(history), 2, device),
        batch_size=settings.eval_batch_size,
        device=device,
    )
    result = _encoder_result(name, net, settings, history, len(train_data), len(test_data))
    result["last_epoch_trained_weights"] = trained
    return result


def _encoder_result(
    name: str,
    net: InformationNet,
    settings: InformationSettings,
    history: list[dict[str, Any]],
    train_samples: int,
    test_samples: int,
) -> dict[str, Any]:
    s = settings.samples
    best = best_epoch(history, s)
    test = best["test"]
    spec = encoder_spec(name)
    result: dict[str, Any] = {
        "encoder": name,
        "label": LABELS[name],
        "model": spec.spec.neuron,
        "neurons": settings.width,
        "features": net.features,
        "trainable_parameters": sum(p.numel() for p in net.parameters() if p.requires_grad),
        "setup": spec.note,
        "best_epoch": best["epoch"],
        "I_XZ_bits": test["I_XZ_bits"],
        "I_XZ_sem_bits": test["I_XZ_sem_bits"],
        "I_ZY_bits": test["I_ZY_bits"],
        "I_ZY_sem_bits": test["I_ZY_sem_bits"],
        "I_ZY_task1_bits": test["I_ZY_task1_bits"],
        "I_ZY_task2_bits": test["I_ZY_task2_bits"],
        f"accuracy_{s}": test[f"accuracy_{s}"],
        f"accuracy_{s}_task1": test[f"accuracy_{s}_task1"],
        f"accuracy_{s}_task2": test[f"accuracy_{s}_task2"],
        "accuracy_1_task1": test["accuracy_1_task1"],
        "accuracy_1_task2": test["accuracy_1_task2"],
        "spike_rate": test["spike_rate"],
        "epochs": len(history),
        # share of the initial weights still in the EMA copy at the reported epoch
        "ema_initial_weight": settings.ema_decay
        ** (best["epoch"] * -(-train_samples // settings.batch_size)),
        "train_samples": train_samples,
        "test_samples": test_samples,
        "seconds": sum(record["seconds"] for record in history),
        "history": history,
    }
    return result


# -- the study ----------------------------------------------------------------------------------
def hardware(device: str) -> dict[str, Any]:
    """Where the study ran: CPU, threads, GPU, versions."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "device": device,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def deviations(settings: InformationSettings) -> list[str]:
    """How this run differs from the paper's ``MI/`` run, in words."""
    notes = []
    if settings.dataset != PAPER_DATASET:
        notes.append(
            f"Data set `{settings.dataset}` instead of the paper's Multi-(Fashion+MNIST) "
            f"(`{PAPER_DATASET}`), whose training split needs MNIST's training files, absent "
            "on the machine this default was chosen for. Composites are built as in Pareto MTL "
            "(spikebridge.data.multitask), not read from the paper's pickle; pixels 0..255."
        )
    if settings.subset is not None or settings.test_subset is not None:
        notes.append(
            f"Subsets: the first {settings.subset or 120_000} training and "
            f"{settings.test_subset or 20_000} test composites (paper: 120,000 / 20,000)."
        )
    if settings.epochs != 200:
        notes.append(f"{settings.epochs} epochs instead of the paper's 200.")
    notes += [
        "12-sample accuracy: class probabilities averaged over 12 draws of Z. The paper's code "
        "stacks the heads on axis 1 of [12, B, 10] logits and applies softmax on axis 2, "
        "which is then the batch axis (a bug); we average softmax over the classes.",
        "The paper's Solver builds `ToyNet(self.K)` without its `model` argument, so the "
        "stored code always builds the LIF encoder; we build the encoder named.",
        "The s-LIF2HH spike trains are ordered event-major (4 blocks of 512) instead of the "
        "paper's unit-major; a permutation of the Linear(2048 -> 512) inputs, no change.",
        "Random draws differ from the paper's (numpy for the HH gate rates, per-epoch torch "
        "generators for shuffling and eps); the distributions are the paper's.",
        "The EMA averages the trainable parameters and copies the constants (the paper "
        "averages the whole state_dict, constants included: the same up to rounding).",
    ]
    return notes


def _settings_for(
    *,
    encoders: Sequence[str],
    epochs: int | None,
    subset: int | None,
    test_subset: int | None,
    batch_size: int,
    seed: int,
    dataset: str,
    device: str,
    quick: bool,
    data_root: str | None,
) -> InformationSettings:
    if isinstance(encoders, str):
        encoders = [e for e in encoders.split(",") if e]
    quick_values: dict[str, Any] = QUICK if quick else {}
    return InformationSettings(
        dataset=dataset,
        epochs=epochs if epochs is not None else quick_values.get("epochs", 200),
        subset=subset if subset is not None else quick_values.get("subset"),
        test_subset=test_subset if test_subset is not None else quick_values.get("test_subset"),
        batch_size=batch_size,
        seed=seed,
        device=device,
        data_root=data_root,
        encoders=tuple(encoders),
    ).checked()


def run_information_study(
    out: str | Path,
    *,
    encoders: Sequence[str] = ENCODERS,
    epochs: int | None = None,
    subset: int | None = None,
    test_subset: int | None = None,
    batch_size: int = 128,
    seed: int = 1,
    dataset: str = "multi-fashion",
    device: str = "cpu",
    quick: bool = False,
    progress: bool = True,
    resume: bool = False,
    data_root: str | None = None,
) -> dict[str, Any]:
    """Train each encoder and write ``out/results.json``, ``out/report.md`` and ``out/figures``.

    Defaults are the paper's (200 epochs, all composites); ``quick=True`` uses
    :data:`QUICK` (256 / 128 composites, 2 epochs) wherever ``epochs``/``subset``/
    ``test_subset`` are not given. Per-encoder checkpoints live in ``out/checkpoints``;
    an existing study is only continued with ``resume=True``.
    """
    settings = _settings_for(
        encoders=encoders,
        epochs=epochs,
        subset=subset,
        test_subset=test_subset,
        batch_size=batch_size,
        seed=seed,
        dataset=dataset,
        device=device,
        quick=quick,
        data_root=data_root,
    )
    out = Path(out)
    checkpoints = out / "checkpoints"
    existing = sorted(checkpoints.glob("*.pt")) if checkpoints.is_dir() else []
    if (existing or (out / "results.json").exists()) and not resume:
        what = ", ".join(p.name for p in existing) or "results.json"
        raise InputError(
            f"{out} already holds an information study ({what}). Pass --resume to continue it "
            "(same settings; only --epochs, --device and --encoders may change) or choose "
            "another --out (nothing was overwritten)."
        )
    began = time.perf_counter()
    train_data = load_task_data(
        settings.dataset,
        "train",
        seed=settings.data_seed,
        subset=settings.subset,
        root=settings.data_root,
    )
    test_data = load_task_data(
        settings.dataset,
        "test",
        seed=settings.data_seed,
        subset=settings.test_subset,
        root=settings.data_root,
    )
    results: dict[str, Any] = {
        "study": "information",
        "paper": "Fig. 5d (digest section 3.5, the paper's MI/ code)",
        "settings": {**settings.to_dict(), "quick": quick},
        "hardware": hardware(settings.device),
        "bounds": {
            "I_XZ_bits": "E_x KL(N(mu, sigma^2) || N(0, I)) / ln 2 (upper bound on I(X;Z))",
            "I_ZY_bits": "log2 10 - (CE_1 + CE_2) / ln 2: the paper's combined lower bound",
            "I_ZY_task1_bits": "log2 10 - CE_1 / ln 2: lower bound on I(Z;Y_1) (task 1)",
            "I_ZY_task2_bits": "log2 10 - CE_2 / ln 2: lower bound on I(Z;Y_2) (task 2)",
            "selection": (
                f"values of the test epoch with the best {settings.samples}-sample accuracy "
                "(mean of both tasks), EMA weights, one sample of Z for CE and KL"
            ),
        },
        "train_samples": len(train_data),
        "test_samples": len(test_data),
        "deviations": deviations(settings),
        "encoders": {},
    }
    for name in settings.encoders:
        results["encoders"][name] = train_encoder(
            name,
            settings,
            train_data,
            test_data,
            checkpoints / f"{name}.pt",
            progress=progress,
        )
    # training + test time over all epochs (a resumed study counts every session's epochs)
    results["seconds"] = sum(entry["seconds"] for entry in results["encoders"].values())
    results["seconds_this_call"] = time.perf_counter() - began
    write_json(out / "results.json", results)
    from ..report.information import write_information_report

    write_information_report(out, results)
    return results
