"""Training any described network on a user's own tensors: BPTT with surrogate gradients.

:func:`fit_network` trains the ``trainable`` parts of a network description (projection
weights and biases, population parameters) through the torch engine
(:class:`~spikebridge.torch.network.SpikingNetwork`, ``matrix`` delivery by default) on a
classification task: the spikes of a ``readout`` population, ``[T, B, classes]``, go to an
snnTorch loss (``snntorch.functional``: ``ce_count_loss`` by default, ``ce_rate_loss``,
``mse_count_loss``) and the predicted class is the neuron that fired most
(``snntorch.functional.accuracy_rate``). Inputs are given per sample on the first axis:

* a value source (pixels held over a trial): ``[N, n]``;
* a spike source: ``[N, T, n]`` booleans or 0/1;
* a ``"pop.var"`` drive: ``[N, T, n]``.

Adam over mini-batches, the learning rate per trained tensor in its own unit (a quantity
such as ``0.05 * nS`` for conductance weights, or a plain number for dimensionless ones),
seeded batches, one record per epoch. ``net.to_network()`` is the trained description,
ready for :func:`spikebridge.network.save_network` and Brian2
(:func:`spikebridge.bridge.validate_network`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import InputError
from ..torch.network import SpikingNetwork

LOSSES = ("ce_count", "ce_rate", "mse_count")


def _loss(name: str) -> Callable[[Tensor, Tensor], Tensor]:
    import snntorch.functional as SF

    if name == "ce_count":
        return SF.ce_count_loss()
    if name == "ce_rate":
        return SF.ce_rate_loss()
    if name == "mse_count":
        return SF.mse_count_loss()
    raise InputError(f"loss must be one of {', '.join(LOSSES)}, got {name!r}.")


@dataclass
class FitHistory:
    """Per-epoch records: ``loss``, ``train_accuracy``, ``test_accuracy`` (if a test set was
    given), ``seconds``."""

    records: list[dict[str, float]] = field(default_factory=list)

    @property
    def last(self) -> dict[str, float]:
        return self.records[-1]


def _samples(inputs: Mapping[str, Any]) -> int:
    sizes = {len(v) for v in inputs.values()}
    if len(sizes) != 1:
        raise InputError(f"Every input needs the same number of samples, got {sorted(sizes)}.")
    return sizes.pop()


def batch_inputs(
    net: SpikingNetwork, inputs: Mapping[str, Any], index: Tensor | slice
) -> dict[str, Tensor]:
    """The ``forward`` inputs of the samples ``index``: value sources ``[B, n]``, spike
    sources and drives time-first ``[T, B, n]``."""
    reference = next(iter(net.parameters()), None)
    dtype = reference.dtype if reference is not None else torch.get_default_dtype()
    device = reference.device if reference is not None else torch.device("cpu")
    batch: dict[str, Tensor] = {}
    for name, value in inputs.items():
        tensor = torch.as_tensor(value)[index].to(device=device, dtype=dtype)
        if "." in name or (name in net.plan.sources and tensor.dim() == 3):
            tensor = tensor.transpose(0, 1)  # [B, T, n] -> [T, B, n]
        batch[name] = tensor
    return batch


def predict(
    net: SpikingNetwork,
    inputs: Mapping[str, Any],
    *,
    readout: str,
    n_steps: int,
    batch_size: int = 256,
) -> np.ndarray:
    """The predicted class of every sample: the readout neuron with the most spikes."""
    predictions = []
    n = _samples(inputs)
    with torch.no_grad():
        for start in range(0, n, batch_size):
            batch = batch_inputs(net, inputs, slice(start, start + batch_size))
            counts = net(batch, n_steps=n_steps).spikes[readout].sum(0)
            predictions.append(counts.argmax(-1).cpu().numpy())
    return np.concatenate(predictions)


def _param_groups(net: SpikingNetwork, lr: Any) -> list[dict[str, Any]]:
    from brian2.units.fundamentalunits import get_dimensions

    from ..units import unit_name

    groups = []
    for name, parameter in net.named_parameters():
        dim = net.parameter_dimension(name)
        if isinstance(lr, Mapping):
            if name not in lr:
                raise InputError(
                    f"lr gives no rate for trained tensor '{name}'; give {sorted(lr)}."
                )
            rate = lr[name]
        else:
            rate = lr
        if get_dimensions(rate) is not dim:
            raise InputError(
                f"The learning rate of '{name}' must be in its unit, {unit_name(dim)} (Adam's "
                f"step is in the parameter's unit); got {rate!r}. Give e.g. lr=0.05 * "
                f"{unit_name(dim)}, or one rate per tensor: lr={{name: rate}}."
            )
        groups.append({"params": [parameter], "lr": float(np.asarray(rate))})
    if not groups:
        raise InputError(
            "The network has nothing to train: mark projections trainable=True or name "
            "population parameters in trainable=(...)."
        )
    return groups


def fit_network(
    net: SpikingNetwork,
    inputs: Mapping[str, Any],
    targets: Any,
    *,
    readout: str,
    n_steps: int,
    epochs: int = 10,
    batch_size: int = 32,
    lr: Any = 1e-3,
    loss: str = "ce_count",
    test: tuple[Mapping[str, Any], Any] | None = None,
    seed: int = 0,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> FitHistory:
    """Train ``net`` on ``(inputs, targets)`` (see the module docstring); returns the history."""
    if readout not in net.plan.populations:
        raise InputError(
            f"readout '{readout}' is not a population; populations: "
            f"{', '.join(net.plan.populations)}."
        )
    labels = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    n = _samples(inputs)
    if len(labels) != n:
        raise InputError(f"{len(labels)} targets for {n} samples.")
    classes = net.plan.populations[readout].n * len(net.plan.populations[readout].model.events)
    if labels.min() < 0 or labels.max() >= classes:
        raise InputError(f"targets must be class indices in [0, {classes}).")
    criterion = _loss(loss)
    optimiser = torch.optim.Adam(_param_groups(net, lr))
    generator = torch.Generator().manual_seed(seed)
    history = FitHistory()
    for epoch in range(1, epochs + 1):
        began = time.perf_counter()
        net.train()
        order = torch.randperm(n, generator=generator)
        total, correct = 0.0, 0
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            spikes = net(batch_inputs(net, inputs, index), n_steps=n_steps).spikes[readout]
            target = labels[index].to(spikes.device)
            value = criterion(spikes, target)
            optimiser.zero_grad()
            value.backward()
            optimiser.step()
            total += float(value.detach()) * len(index)
            correct += int((spikes.detach().sum(0).argmax(-1) == target).sum())
        record = {
            "epoch": float(epoch),
            "loss": total / n,
            "train_accuracy": correct / n,
            "seconds": time.perf_counter() - began,
        }
        if test is not None:
            predicted = predict(net, test[0], readout=readout, n_steps=n_steps)
            record["test_accuracy"] = float((predicted == np.asarray(test[1])).mean())
        history.records.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history
