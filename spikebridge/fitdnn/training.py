"""Training a Fit-DNN by backpropagation through the folded system (any mode).

Two tasks, as the reference code: ``classify`` (softmax cross-entropy on the logits,
accuracy) and ``denoise`` (the image plus ``noise`` N(0, 1) per pixel in, the clean image
out, outputs clipped to [0, 1], MSE per pixel; the test noise is one fixed draw). Mini-batch
Adam (the calibrated recipe). After every epoch a checkpoint (weights, optimiser, history,
generator state) is written atomically, so a stopped run resumes where it stood.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..errors import InputError, ParameterError
from ..learning.checkpoint import read_checkpoint, save_checkpoint
from .config import FitDNNConfig
from .folded import MODES, FitDNN, Mode

Task = Literal["classify", "denoise"]
TASKS: tuple[Task, ...] = ("classify", "denoise")
SCHEDULES = ("cosine", "constant")
CHECKPOINT_KIND = "spikebridge-fitdnn"


@dataclass(frozen=True)
class TrainConfig:
    task: Task = "classify"
    mode: Mode = "dde"
    epochs: int = 20
    batch: int = 64
    lr: float = 1e-3
    noise: float = 1.0  # denoising: standard deviation of the pixel noise
    input_noise: float = 0.0  # classification: N(0, sigma) added to training images
    schedule: str = "cosine"  # learning rate: "cosine" (to 0 over the epochs) or "constant"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ParameterError(f"Unknown task '{self.task}'; use one of {', '.join(TASKS)}.")
        if self.mode not in MODES:
            raise ParameterError(f"Unknown mode '{self.mode}'; use one of {', '.join(MODES)}.")
        if self.schedule not in SCHEDULES:
            raise ParameterError(
                f"Unknown schedule '{self.schedule}'; use one of {', '.join(SCHEDULES)}."
            )
        if self.epochs < 1 or self.batch < 1 or not self.lr > 0:
            raise ParameterError("epochs and batch must be positive integers and lr positive.")


@dataclass(frozen=True)
class ImageData:
    """Images as floats in [0, 1], flattened [S, 784], with integer labels."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor

    @classmethod
    def from_arrays(
        cls,
        train: tuple[np.ndarray, np.ndarray],
        test: tuple[np.ndarray, np.ndarray],
    ) -> ImageData:
        def images(a: np.ndarray) -> Tensor:
            return torch.as_tensor(a.reshape(a.shape[0], -1), dtype=torch.float32) / 255.0

        return cls(
            images(train[0]),
            torch.as_tensor(train[1], dtype=torch.long),
            images(test[0]),
            torch.as_tensor(test[1], dtype=torch.long),
        )


@dataclass
class TrainResult:
    network: FitDNNConfig
    training: TrainConfig
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def final(self) -> dict[str, float]:
        return self.history[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network.to_dict(),
            "training": asdict(self.training),
            "history": self.history,
        }


def denoising_test_noise(data: ImageData, sigma: float, seed: int) -> Tensor:
    """The fixed noise draw of the denoising test set."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    return sigma * torch.randn(data.test_x.shape, generator=gen)


@torch.no_grad()
def evaluate(
    model: FitDNN,
    data: ImageData,
    train: TrainConfig,
    mode: Mode | None = None,
    batch: int = 1000,
) -> float:
    """Test accuracy (classify) or test MSE per pixel (denoise) in ``mode``."""
    mode = mode or train.mode
    model.eval()
    noise = denoising_test_noise(data, train.noise, train.seed) if train.task == "denoise" else None
    total = 0.0
    for start in range(0, data.test_x.shape[0], batch):
        x = data.test_x[start : start + batch]
        if train.task == "classify":
            logits = model(x, mode)
            total += float((logits.argmax(1) == data.test_y[start : start + batch]).sum())
        else:
            assert noise is not None
            out = model(x + noise[start : start + batch], mode).clamp(0.0, 1.0)
            total += float(((out - x) ** 2).mean(1).sum())
    return total / data.test_x.shape[0]


@torch.no_grad()
def predictions(model: FitDNN, x: Tensor, mode: Mode, batch: int = 1000) -> Tensor:
    return torch.cat([model(x[s : s + batch], mode).argmax(1) for s in range(0, len(x), batch)])


def _loss(model: FitDNN, x: Tensor, y: Tensor, train: TrainConfig, gen: torch.Generator) -> Tensor:
    if train.task == "classify":
        if train.input_noise > 0:
            x = x + train.input_noise * torch.randn(x.shape, generator=gen)
        return torch.nn.functional.cross_entropy(model(x, train.mode), y)
    noisy = x + train.noise * torch.randn(x.shape, generator=gen)
    return torch.nn.functional.mse_loss(model(noisy, train.mode).clamp(0.0, 1.0), x)


def train_fitdnn(
    network: FitDNNConfig,
    train: TrainConfig,
    data: ImageData,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> tuple[FitDNN, TrainResult]:
    """Train a Fit-DNN; with ``checkpoint``, save after every epoch (and resume from it).
    ``on_epoch`` is called with each epoch's record once it is saved."""
    outputs = 10 if train.task == "classify" else data.train_x.shape[1]
    if network.inputs != data.train_x.shape[1] or network.outputs != outputs:
        raise InputError(
            f"The network has {network.inputs} inputs and {network.outputs} outputs; the "
            f"{train.task} task on these images needs {data.train_x.shape[1]} and {outputs}."
        )
    torch.manual_seed(train.seed)
    model = FitDNN(network)
    optimiser = torch.optim.Adam(model.parameters(), lr=train.lr)
    gen = torch.Generator().manual_seed(train.seed)
    result = TrainResult(network, train)
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.exists():
        if not resume:
            raise InputError(
                f"{path} exists. Pass resume=True (--resume) to continue it, or another path."
            )
        saved = read_checkpoint(path, kind=CHECKPOINT_KIND, fix="delete it and train again")
        # the saved run's settings, every one of them (the schedule depends on the epochs)
        expected = {"network": network.to_dict(), "training": asdict(train)}
        found = {"network": saved["network"], "training": saved["training"]}
        for key, value in expected.items():
            if found[key] != value:
                raise InputError(
                    f"{path} holds a run with other {key} settings ({found[key]}); resume it "
                    "with those, or train into another path."
                )
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        gen.set_state(saved["generator"])
        result.history = list(saved["history"])
    n_train = data.train_x.shape[0]
    steps_per_epoch = -(-n_train // train.batch)
    for epoch in range(len(result.history), train.epochs):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n_train, generator=gen)
        total, count = 0.0, 0
        bar = tqdm(
            range(0, n_train, train.batch),
            desc=f"fit-dnn {train.mode} epoch {epoch + 1}/{train.epochs}",
            disable=not progress,
            leave=False,
        )
        for number, start in enumerate(bar):
            for group in optimiser.param_groups:
                group["lr"] = _learning_rate(train, epoch + number / steps_per_epoch)
            idx = order[start : start + train.batch]
            loss = _loss(model, data.train_x[idx], data.train_y[idx], train, gen)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        seconds = time.perf_counter() - started
        metric = evaluate(model, data, train)
        name = "test_accuracy" if train.task == "classify" else "test_mse"
        result.history.append(
            {"epoch": epoch + 1, "train_loss": total / count, name: metric, "seconds": seconds}
        )
        if path is not None:
            save_checkpoint(path, _payload(model, optimiser, gen, result), kind=CHECKPOINT_KIND)
        if on_epoch is not None:
            on_epoch(result.history[-1])
    return model, result


def _learning_rate(train: TrainConfig, epoch: float) -> float:
    """The learning rate at (fractional) ``epoch``: constant, or cosine from lr to 0."""
    if train.schedule == "constant":
        return train.lr
    return 0.5 * train.lr * (1.0 + math.cos(math.pi * epoch / train.epochs))


def _payload(
    model: FitDNN, optimiser: torch.optim.Optimizer, gen: torch.Generator, result: TrainResult
) -> Mapping[str, Any]:
    return {
        "network": result.network.to_dict(),
        "training": asdict(result.training),
        "model": model.state_dict(),
        "optimiser": optimiser.state_dict(),
        "generator": gen.get_state(),
        "history": result.history,
    }


def load_fitdnn(path: str | Path) -> tuple[FitDNN, TrainResult]:
    """A trained Fit-DNN from its checkpoint."""
    saved = read_checkpoint(path, kind=CHECKPOINT_KIND, fix="train it again")
    network = FitDNNConfig(**saved["network"])
    model = FitDNN(network)
    model.load_state_dict(saved["model"])
    result = TrainResult(network, TrainConfig(**saved["training"]), list(saved["history"]))
    return model, result
