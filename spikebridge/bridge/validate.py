"""Validate a trained network in Brian2: same inputs, both engines, compare spikes and labels.

The checkpoint's network is exported (:mod:`.network_file`), rebuilt in Brian2 from the
same model file, and run on the first ``samples`` test composites of its dataset (with
the training run's noise pattern, if any). The torch network runs the same samples in
float64. Both engines' spike rasters go through the same affine readout, so the
comparison measures the spiking dynamics alone:

* ``spike_train_agreement``: fraction of samples whose whole raster (step x neuron) is
  identical; ``spike_count_agreement``: fraction of (sample, neuron) spike counts equal;
* ``prediction_agreement``: per task, fraction of samples with the same predicted label;
* ``accuracy_torch`` / ``accuracy_brian2``: per task, against the true labels.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..learning.checkpoint import load_trained
from ..learning.data import load_task_data
from ..learning.train import noise_pattern
from ..nets import SpikingFC
from .brian_fc import run_fc
from .network_file import NetworkFile, describe, save_network


def readout(network: NetworkFile, raster: np.ndarray) -> np.ndarray:
    """Logits ``[samples, 2, 10]`` from spikes ``[samples, T, features]`` (float64)."""
    rates = raster.astype(np.float64).mean(1)
    feature = rates @ network["readout.feature.weight"].T.astype(np.float64)
    feature += network["readout.feature.bias"].astype(np.float64)
    heads = [
        feature @ network[f"readout.heads.{k}.weight"].T.astype(np.float64)
        + network[f"readout.heads.{k}.bias"].astype(np.float64)
        for k in range(2)
    ]
    return np.stack(heads, axis=1)


def torch_raster(net: SpikingFC, images: torch.Tensor, batch_size: int = 250) -> np.ndarray:
    """Spikes ``[samples, T, features]`` of the torch network (its dtype)."""
    chunks = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            spk = net.spikes(images[start : start + batch_size])
            chunks.append(spk.transpose(0, 1).cpu().numpy() > 0)
    return np.concatenate(chunks)


def validate(
    checkpoint: str | Path,
    *,
    device: str = "cpp_standalone",
    samples: int = 1000,
    export: str | Path | None = None,
    threads: int = 0,
) -> dict[str, Any]:
    """Run the bridge comparison; returns the JSON-ready summary."""
    if samples < 1:
        raise InputError(f"--samples must be at least 1, got {samples}.")
    net, data = load_trained(checkpoint, dtype=torch.float64)
    config = data["config"]
    spec = net.spec
    if not spec.spiking:
        raise InputError(f"'{spec.name}' has no spiking layer: only spiking networks are bridged.")
    if not isinstance(net, SpikingFC):
        raise InputError(
            f"'{spec.name}' is a conv network; the Brian2 bridge builds fc networks only so far."
        )
    network = describe(net, config["seed"])
    if export is not None:
        save_network(export, network)
    noise = noise_pattern(config["noise_amplitude"], config["seed"])
    test = load_task_data(
        config["dataset"],
        "test",
        seed=config["data_seed"],
        subset=samples,
        root=config["data_root"],
        noise=noise,
    )
    images = test.images.to(torch.float64)
    labels = test.labels.numpy()

    began = time.perf_counter()
    raster_torch = torch_raster(net, images)
    torch_seconds = time.perf_counter() - began
    began = time.perf_counter()
    raster_brian = run_fc(network, images.numpy(), device=device, threads=threads)
    brian_seconds = time.perf_counter() - began

    pred_torch = readout(network, raster_torch).argmax(-1)
    pred_brian = readout(network, raster_brian).argmax(-1)
    counts_torch, counts_brian = raster_torch.sum(1), raster_brian.sum(1)
    acc_torch = (pred_torch == labels).mean(0)
    acc_brian = (pred_brian == labels).mean(0)
    tasks = ("task1", "task2")
    return {
        "net": spec.name,
        "checkpoint": str(checkpoint),
        "epoch": data["epoch"],
        "dataset": config["dataset"],
        "train_subset": config["subset"],
        "engine": "brian2",
        "device": device,
        "dtype": "float64",
        "samples": len(labels),
        "steps": network.meta["steps"],
        "spike_train_agreement": float(np.all(raster_torch == raster_brian, axis=(1, 2)).mean()),
        "spike_count_agreement": float((counts_torch == counts_brian).mean()),
        "max_spike_count_difference": int(np.abs(counts_torch - counts_brian).max()),
        "prediction_agreement": {
            t: float((pred_torch[:, k] == pred_brian[:, k]).mean()) for k, t in enumerate(tasks)
        },
        "accuracy_torch": {t: float(acc_torch[k]) for k, t in enumerate(tasks)},
        "accuracy_brian2": {t: float(acc_brian[k]) for k, t in enumerate(tasks)},
        "accuracy_difference_points": {
            t: float(100 * abs(acc_torch[k] - acc_brian[k])) for k, t in enumerate(tasks)
        },
        "mean_spikes_per_sample": float(counts_torch.sum(1).mean()),
        "torch_seconds": torch_seconds,
        "brian2_seconds": brian_seconds,
    }
