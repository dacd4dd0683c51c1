"""Training of the multi-task networks: the paper's optimiser, resumable, deterministic.

Loss = CE(task 1) + CE(task 2); Adam with a MultiStepLR schedule (the spec's settings
unless overridden). Reported accuracy is each task's test accuracy after an epoch (the
paper reports the last epoch). Every epoch writes ``checkpoint.pt`` and
``metrics.json`` atomically into the output folder; ``resume=True`` continues from the
last completed epoch and gives the same result as an uninterrupted run, because the
shuffling of epoch ``e`` depends only on ``(seed, e)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..checks import count, index, non_negative, optional_count, positive
from ..errors import InputError
from ..io import write_json
from ..nets import STEPS, build_net, count_parameters, net_spec
from ..nets.input_synapses import check_synapse_for
from ..torch.compiled import check_net_mode, compile_net
from .checkpoint import read_checkpoint, save_checkpoint
from .data import TaskData, load_task_data
from .epoch_order import epoch_order


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (saved in its checkpoint)."""

    net: str
    dataset: str = "multi-fashion"
    epochs: int | None = None  # None: the paper's 40
    subset: int | None = None  # training composites (None: all 120,000)
    test_subset: int | None = None  # test composites (None: all 20,000)
    seed: int = 1
    data_seed: int = 0
    steps: int = STEPS
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    milestones: tuple[int, ...] | None = None
    noise_amplitude: float = 0.0  # A of the paper's fixed Gaussian pattern (0: none)
    device: str = "cpu"
    data_root: str | None = None
    compile: str = "none"  # spikebridge.torch.compiled.NET_MODES: speed only, same dynamics
    synapse: str = "multiply"  # the input projections' (spikebridge.nets.input_synapses)

    def resolved(self) -> TrainConfig:
        """The config with the spec's optimiser defaults filled in, checked."""
        optimiser = net_spec(self.net).optimiser
        config = replace(
            self,
            epochs=optimiser.epochs if self.epochs is None else self.epochs,
            batch_size=optimiser.batch_size if self.batch_size is None else self.batch_size,
            lr=optimiser.lr if self.lr is None else self.lr,
            weight_decay=optimiser.weight_decay if self.weight_decay is None else self.weight_decay,
            milestones=optimiser.milestones if self.milestones is None else tuple(self.milestones),
        )
        check_run_settings(config, ("epochs", "batch_size", "steps"))
        check_net_mode(config.compile)
        check_synapse_for(config.net, net_spec(config.net).spiking, config.synapse)
        return config

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["milestones"] = None if self.milestones is None else list(self.milestones)
        return data


def check_run_settings(settings: Any, counts: Sequence[str]) -> None:
    """Check a training run's settings object: ``counts`` at least 1, ``subset`` and
    ``test_subset`` None or at least 1, and a CUDA ``device`` only where torch sees a GPU."""
    for name in counts:
        count(getattr(settings, name), name)
    for name in ("subset", "test_subset"):  # named as the command line names them
        optional_count(getattr(settings, name), f"--{name.replace('_', '-')}")
    for name in ("seed", "data_seed"):
        if hasattr(settings, name):
            index(getattr(settings, name), name)
    for name in ("lr",):
        if getattr(settings, name, None) is not None:
            positive(getattr(settings, name), name)
    for name in ("weight_decay", "noise_amplitude"):
        if getattr(settings, name, None) is not None:
            non_negative(getattr(settings, name), name)
    for milestone in getattr(settings, "milestones", None) or ():
        count(milestone, "milestones")
    if settings.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but torch sees no CUDA GPU; use cpu.")


def noise_pattern(amplitude: float, seed: int) -> Tensor | None:
    """The paper's robustness pattern: one fixed ``A * N(0, 1)`` image of 1x36x36."""
    if amplitude == 0:
        return None
    generator = torch.Generator().manual_seed(seed)
    return amplitude * torch.randn((1, 36, 36), generator=generator)


def run_test_data(config: Mapping[str, Any], samples: int | None) -> TaskData:
    """The first ``samples`` test composites of a training run's dataset, with the run's
    noise pattern added (``config`` as saved in its checkpoint)."""
    return load_task_data(
        config["dataset"],
        "test",
        seed=config["data_seed"],
        subset=samples,
        root=config["data_root"],
        noise=noise_pattern(config["noise_amplitude"], config["seed"]),
    )


def _batches(data: TaskData, batch_size: int, order: Tensor | None = None) -> Any:
    indices = order if order is not None else torch.arange(len(data))
    for start in range(0, len(data), batch_size):
        chosen = indices[start : start + batch_size]
        yield data.images[chosen], data.labels[chosen]


def task_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """CE(task 1) + CE(task 2) (the paper's loss)."""
    return sum(
        (F.cross_entropy(logits[:, k], labels[:, k]) for k in range(labels.shape[1])),
        torch.zeros((), device=logits.device),
    )


@torch.no_grad()
def evaluate(
    net: nn.Module, data: TaskData, batch_size: int = 256, device: str = "cpu"
) -> dict[str, float]:
    """Test loss and per-task accuracy of ``net`` on ``data``."""
    net.eval()
    correct = torch.zeros(data.labels.shape[1], dtype=torch.int64)
    loss = 0.0
    dtype = next(net.parameters()).dtype
    for images, labels in _batches(data, batch_size):
        logits = net(images.to(device, dtype))
        labels = labels.to(device)
        loss += float(task_loss(logits, labels)) * len(labels)
        correct += (logits.argmax(-1) == labels).sum(0).cpu()
    n = len(data)
    return {
        "loss": loss / n,
        **{f"accuracy_task{k + 1}": float(correct[k]) / n for k in range(len(correct))},
    }


def train(
    config: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``config.net`` and write ``out/checkpoint.pt`` and ``out/metrics.json``.

    Returns the metrics: ``{"config": ..., "params": ..., "epochs": [per-epoch dicts]}``.
    """
    config = config.resolved()
    out = Path(out)
    checkpoint_path = out / "checkpoint.pt"
    previous = None
    if checkpoint_path.exists():
        if not resume:
            raise InputError(
                f"{out} already holds a checkpoint. Pass --resume to continue that run, or "
                "choose another --out (nothing was overwritten)."
            )
        previous = read_checkpoint(checkpoint_path)
        _check_resumable(previous["config"], config, checkpoint_path)

    torch.manual_seed(config.seed)
    net = build_net(config.net, steps=config.steps, seed=config.seed, synapse=config.synapse).to(
        config.device
    )
    assert config.lr is not None and config.milestones is not None
    assert config.weight_decay is not None
    optimiser = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimiser, milestones=list(config.milestones), gamma=0.1
    )
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if previous is not None:
        net.load_state_dict(previous["state_dict"])
        optimiser.load_state_dict(previous["optimizer"])
        scheduler.load_state_dict(previous["scheduler"])
        history = list(previous["metrics"]["epochs"])
        start_epoch = int(previous["epoch"])

    run = compile_net(net, config.compile)  # the module called in training; net holds the weights
    noise = noise_pattern(config.noise_amplitude, config.seed)

    def split_data(split: Literal["train", "test"], subset: int | None) -> TaskData:
        return load_task_data(
            config.dataset,
            split,
            seed=config.data_seed,
            subset=subset,
            root=config.data_root,
            noise=noise,
        )

    train_data = split_data("train", config.subset)
    test_data = split_data("test", config.test_subset)
    metrics: dict[str, Any] = {
        "config": config.to_dict(),
        "params": count_parameters(net),
        "train_samples": len(train_data),
        "test_samples": len(test_data),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "epochs": history,
    }
    assert config.epochs is not None and config.batch_size is not None
    for epoch in range(start_epoch, config.epochs):
        began = time.perf_counter()
        net.train()
        order = epoch_order(config.seed, epoch, len(train_data))
        total, seen = 0.0, 0
        correct = torch.zeros(2, dtype=torch.int64)
        bar = tqdm(
            _batches(train_data, config.batch_size, order),
            total=-(-len(train_data) // config.batch_size),
            desc=f"{config.net} epoch {epoch + 1}/{config.epochs}",
            disable=not progress,
            leave=False,
        )
        for images, labels in bar:
            images, labels = images.to(config.device), labels.to(config.device)
            logits = run(images)
            loss = task_loss(logits, labels)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"The loss became {float(loss)} in epoch {epoch + 1}; lower --lr. The last "
                    f"checkpoint ({checkpoint_path}) is from before this epoch."
                )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(labels)
            seen += len(labels)
            correct += (logits.argmax(-1) == labels).sum(0).cpu()
            bar.set_postfix(loss=f"{total / seen:.3f}")
        scheduler.step()
        train_time = time.perf_counter() - began
        test = evaluate(net, test_data, device=config.device)
        record = {
            "epoch": epoch + 1,
            "lr": optimiser.param_groups[0]["lr"],
            "train_loss": total / seen,
            "train_accuracy_task1": float(correct[0]) / seen,
            "train_accuracy_task2": float(correct[1]) / seen,
            "test_loss": test["loss"],
            "test_accuracy_task1": test["accuracy_task1"],
            "test_accuracy_task2": test["accuracy_task2"],
            "train_seconds": train_time,
        }
        history.append(record)
        save_checkpoint(
            checkpoint_path,
            {
                "config": config.to_dict(),
                "epoch": epoch + 1,
                "state_dict": net.state_dict(),
                "optimizer": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "metrics": metrics,
            },
        )
        write_json(out / "metrics.json", metrics)
        if on_epoch is not None:
            on_epoch(record)
    if not history:
        write_json(out / "metrics.json", metrics)
    return metrics


_MAY_CHANGE = {"epochs", "device", "data_root", "compile"}


def _check_resumable(saved: dict[str, Any], config: TrainConfig, path: Path) -> None:
    saved = {"synapse": "multiply", **saved}  # checkpoints from before adder synapses
    current = config.to_dict()
    changed = sorted(
        key for key in current if key not in _MAY_CHANGE and saved.get(key) != current[key]
    )
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {current[k]!r}" for k in changed)
        raise InputError(
            f"Cannot resume {path}: the run's settings differ ({details}). Resume with the "
            "same settings (only --epochs, --device, --data and --compile may change) or train "
            "into a new --out."
        )
